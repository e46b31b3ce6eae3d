"""The wire format: values survive a round trip; anything but plain data is refused."""

from __future__ import annotations

import io
import pickle
import socket

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes

from autograder import protocol
from autograder.protocol import FuncRef, ProtocolError, decode, encode
from autograder.worker import _as_data


def roundtrip(value, **kwargs):
    blobs: list[bytes] = []
    tree = encode(value, blobs, **kwargs)
    return decode(tree, blobs)


@given(arrays(scalar_dtypes().filter(lambda d: d.kind in "biufc"), array_shapes(min_dims=0, max_dims=3)))
def test_arrays_keep_dtype_shape_and_values(array):
    back = roundtrip(array)
    assert type(back) is np.ndarray
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array, equal_nan=array.dtype.kind in "fc")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=20,
    )
)
def test_plain_python_values_round_trip(value):
    assert roundtrip(value) == value


def test_python_int_and_float_stay_distinct():
    assert type(roundtrip(109386)) is int
    assert type(roundtrip(109386.0)) is float
    assert type(roundtrip(np.int64(3))) is np.int64
    assert np.isnan(roundtrip(float("nan")))


def test_object_arrays_and_unknown_types_are_refused():
    with pytest.raises(ProtocolError, match="dtype object"):
        encode(np.array([{}, 1], dtype=object), [])
    with pytest.raises(ProtocolError, match="cannot be sent"):
        encode(object(), [])


def test_pickled_bytes_never_become_objects():
    payload = io.BytesIO()
    np.save(payload, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError):
        decode({"t": "array", "b": 0}, [payload.getvalue()])
    with pytest.raises(ProtocolError):
        decode({"t": "array", "b": 0}, [pickle.dumps([1, 2])])


def test_ndarray_subclass_arrives_as_plain_ndarray():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    liar = np.arange(3.0).view(Liar)
    blobs: list[bytes] = []
    tree = encode(liar, blobs, resolve=_as_data)  # what the worker sends for a returned subclass
    assert tree["from"] == "Liar"  # converted as an unknown type, never sent as itself
    back = decode(tree, blobs)
    assert type(back) is np.ndarray
    assert list(back) == [0.0, 1.0, 2.0]


def test_functions_cross_only_by_name():
    tree = encode([FuncRef("relu")], [])
    assert decode(tree, [], resolve_func=lambda ref: ref.name) == ["relu"]
    with pytest.raises(ProtocolError, match="functions"):
        decode(tree, [])


@pytest.mark.parametrize(
    "tree", [{"t": "array", "b": 5}, {"t": "nope"}, [1, 2], {"t": "int", "v": "1" * 6000}]
)
def test_malformed_trees_are_protocol_errors(tree):
    with pytest.raises(ProtocolError):
        decode(tree, [])


def test_frames_round_trip_and_refuse_oversized_headers():
    a, b = socket.socketpair()
    with a, b:
        protocol.send_frame(a, {"op": "x"}, [b"abc", b""])
        header, blobs = protocol.recv_frame(b)
        assert header["op"] == "x" and blobs == [b"abc", b""]
        a.sendall(protocol._HEAD.pack(protocol.MAX_HEADER_BYTES + 1))
        with pytest.raises(ProtocolError, match="over the limit"):
            protocol.recv_frame(b)
