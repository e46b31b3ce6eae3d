"""The wire format: values survive a round trip; anything but plain data is refused."""

from __future__ import annotations

import io
import pickle
import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    arrays,
    boolean_dtypes,
    byte_string_dtypes,
    complex_number_dtypes,
    floating_dtypes,
    integer_dtypes,
    scalar_dtypes,
    unicode_string_dtypes,
    unsigned_integer_dtypes,
)

from autograder.sandbox import protocol
from autograder.sandbox.protocol import FuncRef, ProtocolError, decode, encode
from autograder.sandbox.worker import _as_data


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
        header, blobs = protocol.FrameReader(b, chunk=0).recv()
        assert header["op"] == "x" and blobs == [b"abc", b""]
        a.sendall(protocol._HEAD.pack(protocol.MAX_HEADER_BYTES + 1))
        with pytest.raises(ProtocolError, match="over the limit"):
            protocol.FrameReader(b, chunk=0).recv()


@settings(max_examples=40, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.integers(0, 99), st.lists(st.binary(max_size=300), max_size=3)), min_size=1, max_size=6
    ),
    chunk=st.sampled_from([0, 1, 7, 64, 1 << 16]),
)
def test_a_buffered_reader_returns_frames_as_sent_however_they_arrive(frames, chunk):
    """Several frames in one write, or parts split over many: each comes back whole, in order."""
    a, b = socket.socketpair()
    with a, b:
        for n, blobs in frames:
            protocol.send_frame(a, {"n": n}, blobs)
        a.close()
        reader = protocol.FrameReader(b, chunk=chunk)
        for n, blobs in frames:
            header, got = reader.recv()
            assert header["n"] == n and got == blobs
        with pytest.raises(protocol.ChannelClosed):
            reader.recv()


def test_a_buffered_reader_refuses_oversized_blobs_and_a_frame_cut_short():
    a, b = socket.socketpair()
    with a, b:
        protocol.send_frame(a, {"op": "x"}, [b"x" * 100])
        with pytest.raises(ProtocolError, match="over the limit"):
            protocol.FrameReader(b).recv(max_blob_bytes=99)
    a, b = socket.socketpair()
    with a, b:
        raw = protocol._HEAD.pack(50) + b'{"op":'
        a.sendall(raw)
        a.close()
        with pytest.raises(protocol.ChannelClosed):
            protocol.FrameReader(b).recv()


# --- .npy blobs: the fast paths agree with NumPy's reader and writer ---------------------------

SAFE_DTYPES = (
    boolean_dtypes()
    | integer_dtypes(endianness="?")
    | unsigned_integer_dtypes(endianness="?")
    | floating_dtypes(endianness="?", sizes=(16, 32, 64, 128))
    | complex_number_dtypes(endianness="?")
    | unicode_string_dtypes(endianness="?", min_len=1, max_len=4)
    | byte_string_dtypes(min_len=1, max_len=4)
)


@st.composite
def laid_out_arrays(draw):
    """Arrays of every dtype we send, 0-d to 4-d, empty or not, in C, F or no memory order."""
    array = draw(arrays(SAFE_DTYPES, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
    layout = draw(st.sampled_from(["C", "F", "transposed", "strided"]))
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "transposed":
        return array.transpose(draw(st.permutations(range(array.ndim))))
    if layout == "strided":
        return np.stack([array, array], axis=-1)[..., 0]
    return array


def numpy_npy(array, **kwargs) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False, **kwargs)
    return buf.getvalue()


def npy_v1(header: bytes, payload: bytes = b"", *, length: int | None = None) -> bytes:
    """A version 1.0 .npy blob around any header text, padded to 64 bytes as NumPy pads it."""
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    size = len(header) if length is None else length
    return b"\x93NUMPY\x01\x00" + size.to_bytes(2, "little") + header + payload


@given(laid_out_arrays())
def test_npy_writer_writes_numpys_bytes(array):
    assert protocol._write_npy(array) == numpy_npy(array)


@given(laid_out_arrays())
def test_npy_fast_reader_reads_what_numpy_reads(array):
    blob = numpy_npy(array)
    back = protocol._read_npy_fast(blob)
    expected = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
    assert back is not None  # every header NumPy writes for these arrays takes the fast path
    assert type(back) is np.ndarray
    assert (back.dtype, back.shape) == (expected.dtype, expected.shape)
    assert back.dtype.str == expected.dtype.str  # byte order kept
    assert back.flags.c_contiguous == expected.flags.c_contiguous
    assert back.flags.f_contiguous == expected.flags.f_contiguous
    assert back.flags.writeable and expected.flags.writeable
    assert back.tobytes(order="A") == expected.tobytes(order="A")


def test_usual_arrays_never_go_through_numpys_npy_code(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("took the slow path")

    monkeypatch.setattr(np.lib.format, "write_array", refuse)
    monkeypatch.setattr(np.lib.format, "read_array", refuse)
    for value in [np.ones((4, 3)), np.ones((64, 10), np.float32).T, np.float64(1.5), np.array(["ab"])]:
        back = roundtrip(value)
        assert type(back) is type(value) and np.array_equal(back, value)


def test_headers_numpy_reads_but_the_fast_path_does_not_still_read():
    array = np.arange(6.0).reshape(2, 3)
    version_2 = numpy_npy(array, version=(2, 0))
    spaced = npy_v1(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,3)}", array.tobytes())
    for blob in [version_2, spaced]:
        assert protocol._read_npy_fast(blob) is None
        assert np.array_equal(protocol._read_npy(blob), array)


@pytest.mark.parametrize("order", ["C", "F"])
def test_arrays_read_back_are_writable_copies_in_their_order(order):
    blob = protocol._write_npy(np.asarray(np.arange(12.0).reshape(3, 4), order=order))
    back = protocol._read_npy(blob)
    assert back.flags.writeable and back.flags[f"{order}_CONTIGUOUS"]
    owner = back if back.base is None else back.base
    assert owner.flags.owndata  # its own memory, not a view of the bytes received
    back[0, 0] = 99.0  # student code may change its arguments in place
    assert protocol._read_npy(blob)[0, 0] == 0.0


def f8_header(shape: str, descr: str = "'<f8'") -> bytes:
    return f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".encode("latin1")


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (npy_v1(f8_header("(2,)"), bytes(8)), "needs 16 bytes, got 8"),  # truncated payload
        (npy_v1(f8_header("(2,)"), bytes(24)), "needs 16 bytes, got 24"),  # trailing garbage
        (npy_v1(f8_header("(2,)"), bytes(16), length=200), "EOF"),  # header length past the end
        (npy_v1(f8_header("(2,)"), bytes(16))[:40], "EOF"),  # truncated header
        (npy_v1(f8_header("(-1,)"), bytes(8)), "negative dimensions"),
        (npy_v1(f8_header(f"({2**62}, {2**62})"), bytes(8)), f"needs {2**127} bytes"),
        (npy_v1(f8_header(f"({10**30},)"), bytes(8)), "too large"),  # over int64
        (npy_v1(f8_header("(1099511627776, )"), bytes(8)), "Unable to allocate"),  # 8 TiB
        (npy_v1(f8_header("(" + "1, " * 70 + ")"), bytes(8)), "maximum supported dimension"),
        (npy_v1(f8_header("(1,)", "'|O'"), bytes(8)), "Object arrays cannot be loaded"),
        (npy_v1(f8_header("(1,)", "[('a', '<f8')]"), bytes(8)), "unsafe dtype"),
        (npy_v1(f8_header("(1,)", "'<M8[s]'"), bytes(8)), "unsafe dtype"),
        (npy_v1(f8_header("(1,)", "'<f8\u00e9'"), bytes(8)), "not a valid dtype"),  # non-ASCII
        (npy_v1(f8_header("(1,)") + b"\xff\xfe", bytes(8)), "Cannot parse header"),
        (npy_v1(f8_header("(1,)")[:-1] + b"'x': 1}", bytes(8)), "correct keys"),
        (npy_v1(f8_header("(1,)") + b" + 1", bytes(8)), "malformed node"),
        (npy_v1(b"[1, 2]", bytes(8)), "not a dictionary"),
        (b"\x93NUMPY\x01", "EOF"),
        (b"not an npy blob at all", "magic string"),
    ],
)
def test_hostile_npy_blobs_are_protocol_errors(blob, message):
    with pytest.raises(ProtocolError, match=message):
        decode({"t": "array", "b": 0}, [blob])
