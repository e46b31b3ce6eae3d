"""The wire between the judge and a worker: framed JSON headers and `.npy` blobs, never pickle.

A frame is a 4-byte big-endian header length, a UTF-8 JSON header, then the blobs the header
announces (`"nblobs"`), each an 8-byte length and its bytes. Values travel as a small tagged
tree (`encode` / `decode`): numbers, strings, lists, tuples, dicts with string keys, NumPy
arrays as `.npy` bytes (read back with ``allow_pickle=False``) and references to functions by
name. The judge side decodes with hard limits, so a hostile worker can send garbage but never
an object: whatever arrives is plain data.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 4 << 20
MAX_BLOB_BYTES = 1 << 30
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_STR = 100_000
# dtype kinds a judge accepts: bool, ints, floats, complex, text. No objects, no records.
SAFE_KINDS = frozenset("biufcUS")

_HEAD = struct.Struct(">I")
_JSON_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode  # one, not one a frame
_BLOB = struct.Struct(">Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame or value."""


class ChannelClosed(ProtocolError):
    """The other side closed the channel (a worker that exited or was killed)."""


@dataclass(frozen=True)
class FuncRef:
    """A function named across the wire: a worker builtin (`relu`) or the student's own."""

    name: str
    source: str = "builtin"  # "builtin" | "student"


# --- framing ---------------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ChannelClosed("channel closed")
        got += k
    return bytes(buf)


def send_frame(sock: socket.socket, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    """Send one frame."""
    head = dict(header)
    head["nblobs"] = len(blobs)
    raw = _JSON_ENCODE(head).encode()
    parts = [_HEAD.pack(len(raw)), raw]
    for blob in blobs:
        parts.append(_BLOB.pack(len(blob)))
        parts.append(blob)
    sock.sendall(b"".join(parts))


class FrameReader:
    """Frames from one socket through a buffer, refusing oversized headers and blobs.

    A call's reply is a length, a header, and a length and bytes per array: read part by
    part, that is three to six system calls a frame, each a few microseconds more on both
    sides of every call. Read ahead in `chunk`s, a frame usually takes one. A socket needs the
    same reader all its life, since the buffer may hold the start of the next frame; `chunk=0`
    reads exactly what each part needs.
    """

    def __init__(self, sock: socket.socket, *, chunk: int = 1 << 16) -> None:
        self.sock = sock
        self.chunk = chunk
        self._buf = bytearray()
        self._pos = 0

    def _take(self, n: int) -> bytes:
        buf, pos = self._buf, self._pos
        if len(buf) - pos >= n:
            self._pos = pos + n
            return bytes(memoryview(buf)[pos : pos + n])
        head = bytes(memoryview(buf)[pos:])
        self._buf, self._pos = bytearray(), 0
        need = n - len(head)
        if need >= self.chunk:  # a large part (or no read-ahead): read exactly it, into place
            return head + _recv_exact(self.sock, need)
        while len(self._buf) < need:
            data = self.sock.recv(self.chunk)
            if not data:
                raise ChannelClosed("channel closed")
            self._buf += data
        self._pos = need
        return head + bytes(memoryview(self._buf)[:need])

    def recv(self, *, max_blob_bytes: int = MAX_BLOB_BYTES) -> tuple[dict[str, Any], list[bytes]]:
        """The next frame: its header and its blobs."""
        (size,) = _HEAD.unpack(self._take(_HEAD.size))
        if size > MAX_HEADER_BYTES:
            raise ProtocolError(f"header of {size} bytes is over the limit")
        try:
            header = json.loads(self._take(size).decode())  # str: no encoding to detect
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"header is not JSON: {exc}") from None
        if not isinstance(header, dict):
            raise ProtocolError("header is not a JSON object")
        nblobs = header.get("nblobs", 0)
        if not isinstance(nblobs, int) or not 0 <= nblobs <= 10_000:
            raise ProtocolError("bad blob count")
        blobs = []
        total = 0
        for _ in range(nblobs):
            (length,) = _BLOB.unpack(self._take(_BLOB.size))
            total += length
            if total > max_blob_bytes:
                raise ProtocolError(f"blobs over the limit of {max_blob_bytes} bytes")
            blobs.append(self._take(length))
        return header, blobs


# --- .npy blobs ------------------------------------------------------------------------------
#
# Every call of a student function sends its arrays as `.npy` bytes, so both ends have a fast
# path for the one header layout NumPy writes for plain arrays, format version 1.0:
#
#   b"\x93NUMPY" 0x01 0x00 | header length, 2 bytes little-endian | header | array bytes
#
# where the header is the latin-1 text of a dict literal, keys sorted, padded with spaces and a
# final newline so that the array bytes start at a multiple of 64:
#
#   {'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }                  ...    \n
#
# Anything else (another version, a structured dtype, odd spacing) goes through NumPy's own
# reader and writer, which stay the reference: tests check the fast paths byte for byte
# against them.

_NPY_MAGIC_1_0 = b"\x93NUMPY\x01\x00"
_NPY_LENGTH = struct.Struct("<H")
_NPY_PREFIX_BYTES = len(_NPY_MAGIC_1_0) + _NPY_LENGTH.size
_NPY_ALIGN = 64  # numpy.lib.format.ARRAY_ALIGN
# NumPy pads the header with this many digits less the length of the first (C order) or last
# (Fortran order) dimension, room to grow the array in place (GROWTH_AXIS_MAX_DIGITS).
_NPY_GROWTH_DIGITS = 21
_NPY_MAX_NDIM = 64  # NumPy 2's limit; more dimensions go to NumPy's reader, which refuses them
# A plain dtype string as `dtype.str` spells it: byte order, a kind we accept, an item size.
_NPY_DESCR = r"[<>|][biufcUS][1-9][0-9]{0,9}"
# A dimension as `repr(int)` spells it: no sign, no leading zeros; 19 digits keep `int()` cheap
# (the size check in `_read_npy_fast` refuses any shape the bytes do not fill).
_NPY_DIM = r"(?:0|[1-9][0-9]{0,18})"
_NPY_HEADER_1_0 = re.compile(
    (
        rf"\{{'descr': '(?P<descr>{_NPY_DESCR})', 'fortran_order': (?P<fortran>False|True), "
        # (), (5,) or (4, 3, ...): Python's repr of a tuple of ints
        rf"'shape': \((?P<shape>|{_NPY_DIM},|{_NPY_DIM}(?:, {_NPY_DIM}){{1,{_NPY_MAX_NDIM - 1}}})\), \}}"
        # room to grow and padding to a multiple of 64: at most 20 + 64 spaces, then a newline
        r" {0,127}\n"
    ).encode("ascii")
)
_NPY_SIMPLE_DESCR = re.compile(_NPY_DESCR)


def _write_npy(array: np.ndarray[Any, Any]) -> bytes:
    """The bytes `np.lib.format.write_array(buf, array, allow_pickle=False)` writes, faster."""
    dtype = array.dtype
    if dtype.metadata is not None or dtype.itemsize == 0:
        return _write_npy_numpy(array)  # NumPy warns about metadata; the rest is not ours to spell
    flags = array.flags
    # NumPy stores a Fortran-contiguous array as is; anything else, contiguous or not, in C order.
    is_fortran = flags.f_contiguous and not flags.c_contiguous
    head = _npy_header(dtype.str, is_fortran, array.shape)
    if head is None:
        return _write_npy_numpy(array)
    return head + array.tobytes(order="F" if is_fortran else "C")


@functools.lru_cache(maxsize=256)  # a batch sends the same few shapes over and over
def _npy_header(descr: str, is_fortran: bool, shape: tuple[int, ...]) -> bytes | None:
    """NumPy's version 1.0 header for such an array; None where NumPy would write another."""
    if not _NPY_SIMPLE_DESCR.fullmatch(descr):
        return None
    text = f"{{'descr': {descr!r}, 'fortran_order': {is_fortran!r}, 'shape': {shape!r}, }}"
    if shape:
        text += " " * (_NPY_GROWTH_DIGITS - len(repr(shape[-1 if is_fortran else 0])))
    # Spaces and a newline up to the next multiple of 64 bytes, counting the 10-byte prefix;
    # always at least one space, as NumPy's `_wrap_header` does.
    length = len(text) + 1
    padding = _NPY_ALIGN - (_NPY_PREFIX_BYTES + length) % _NPY_ALIGN
    if length + padding > 0xFFFF:  # needs format 2.0, which NumPy picks (and warns about)
        return None
    return b"".join(
        (
            _NPY_MAGIC_1_0,
            _NPY_LENGTH.pack(length + padding),
            text.encode("latin1"),
            b" " * padding,
            b"\n",
        )
    )


def _write_npy_numpy(array: np.ndarray[Any, Any]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def _read_npy(blob: bytes) -> np.ndarray[Any, Any]:
    """Read a `.npy` blob from the other side: a plain, writable array of a safe dtype."""
    array = _read_npy_fast(blob)
    if array is None:
        try:
            array = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
        # NumPy lets a huge shape out as OverflowError (over int64) or MemoryError (it tries to
        # allocate what the header asks for before it finds the bytes are not there).
        except (ValueError, OSError, EOFError, OverflowError, MemoryError) as exc:
            raise ProtocolError(f"array bytes are not a valid .npy: {exc}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in SAFE_KINDS:
        raise ProtocolError("array of an unsafe dtype")
    return array


def _read_npy_fast(blob: bytes) -> np.ndarray[Any, Any] | None:
    """Read a blob with NumPy's usual version 1.0 header; None for any other header.

    Stricter than NumPy's reader: the array bytes must be exactly what the header announces.
    The result is a copy, so it owns its memory and is writable like NumPy's (student code
    may change its arguments in place).
    """
    if not blob.startswith(_NPY_MAGIC_1_0) or len(blob) < _NPY_PREFIX_BYTES:
        return None
    (length,) = _NPY_LENGTH.unpack_from(blob, len(_NPY_MAGIC_1_0))
    offset = _NPY_PREFIX_BYTES + length
    if len(blob) < offset:
        return None  # a truncated header: let NumPy name the problem
    header = blob[_NPY_PREFIX_BYTES:offset]
    # Remember only short headers (up to a few dimensions): the cache stays a few tens of KiB.
    parsed = _parse_npy_header(header) if len(header) <= 256 else _parse_npy_header.__wrapped__(header)
    if parsed is None:
        return None
    dtype, shape, is_fortran = parsed
    count = math.prod(shape)  # a Python int: a huge shape cannot overflow
    if len(blob) - offset != count * dtype.itemsize:
        raise ProtocolError(
            f"array bytes are not a valid .npy: shape {shape} of {dtype} needs "
            f"{count * dtype.itemsize} bytes, got {len(blob) - offset}"
        )
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).copy()
    if is_fortran:  # as NumPy does: the reversed shape in C order, transposed
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


@functools.lru_cache(maxsize=256)  # bounded: a hostile worker may send any number of headers
def _parse_npy_header(header: bytes) -> tuple[np.dtype[Any], tuple[int, ...], bool] | None:
    """dtype, shape and Fortran order from a header NumPy's writer could have written; else None."""
    match = _NPY_HEADER_1_0.fullmatch(header)
    if match is None:
        return None
    descr = match["descr"].decode("ascii")
    try:
        dtype = np.dtype(descr)
    except TypeError:  # '<b2', 'S99999999999': NumPy refuses these in its own words
        return None
    if dtype.str != descr or dtype.kind not in SAFE_KINDS:
        return None  # only the spelling NumPy writes, '|b1' and not '<b1'
    shape_text = match["shape"]
    shape = tuple(int(dim) for dim in shape_text.rstrip(b",").split(b", ")) if shape_text else ()
    return dtype, shape, match["fortran"] == b"True"


# --- values ----------------------------------------------------------------------------------


def encode(
    value: Any,
    blobs: list[bytes],
    *,
    resolve: Callable[[Any], Any] | None = None,
    depth: int = 0,
) -> Any:
    """Turn a value into a JSON-able tree, appending array bytes to `blobs`.

    `resolve` is the worker's fallback for objects of other types (it tries `np.asarray`);
    without it such objects are refused.
    """
    if depth > MAX_DEPTH:
        raise ProtocolError("value is nested too deeply")
    if value is None:
        return {"t": "none"}
    if value is Ellipsis:
        return {"t": "ellipsis"}
    if type(value) is bool:
        return {"t": "bool", "v": value}
    if type(value) is int:
        return {"t": "int", "v": str(value)}
    if type(value) is float:
        return {"t": "float", "v": repr(value)}
    if type(value) is str:
        return {"t": "str", "v": value[:MAX_STR]}
    if isinstance(value, FuncRef):
        return {"t": "func", "name": value.name, "src": value.source}
    if isinstance(value, np.generic):
        scalar = np.asarray(value)
        if scalar.dtype.kind not in SAFE_KINDS:
            raise ProtocolError(f"NumPy scalar of dtype {scalar.dtype} cannot be sent")
        blobs.append(_write_npy(scalar))
        return {"t": "npscalar", "b": len(blobs) - 1}
    if type(value) is np.ndarray:
        if value.dtype.kind not in SAFE_KINDS:
            raise ProtocolError(f"array of dtype {value.dtype} cannot be sent")
        blobs.append(_write_npy(value))
        return {"t": "array", "b": len(blobs) - 1}
    if type(value) in (list, tuple):
        tag = "list" if type(value) is list else "tuple"
        return {"t": tag, "v": [encode(v, blobs, resolve=resolve, depth=depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {
            "t": "dict",
            "v": [[k, encode(v, blobs, resolve=resolve, depth=depth + 1)] for k, v in value.items()],
        }
    if resolve is not None:
        converted, kind = resolve(value)
        tree = encode(converted, blobs, depth=depth + 1)
        tree["from"] = kind
        return tree
    raise ProtocolError(f"a value of type {type(value).__name__} cannot be sent")


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0

    def spend(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProtocolError("value has too many parts")


def decode(
    tree: Any,
    blobs: list[bytes],
    *,
    resolve_func: Callable[[FuncRef], Any] | None = None,
    _budget: _Budget | None = None,
    _depth: int = 0,
) -> Any:
    """Rebuild a value from `encode`'s tree; only plain data comes out."""
    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH + 1 or not isinstance(tree, dict):
        raise ProtocolError("malformed value")
    tag = tree.get("t")
    try:
        if tag == "none":
            return None
        if tag == "ellipsis":
            return Ellipsis
        if tag == "bool":
            return bool(tree["v"])
        if tag == "int":
            text = str(tree["v"])
            if len(text) > 5000:
                raise ProtocolError("integer too long")
            return int(text)
        if tag == "float":
            return float(str(tree["v"]))
        if tag == "str":
            return str(tree["v"])[:MAX_STR]
        if tag in ("array", "npscalar"):
            array = _read_npy(blobs[int(tree["b"])])
            if tag == "npscalar":
                if array.ndim != 0:
                    raise ProtocolError("scalar with a shape")
                return array[()]
            return array
        if tag in ("list", "tuple"):
            items = [
                decode(v, blobs, resolve_func=resolve_func, _budget=budget, _depth=_depth + 1)
                for v in tree["v"]
            ]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return {
                str(k): decode(v, blobs, resolve_func=resolve_func, _budget=budget, _depth=_depth + 1)
                for k, v in tree["v"]
            }
        if tag == "func":
            ref = FuncRef(str(tree["name"]), str(tree.get("src", "builtin")))
            if resolve_func is None:
                raise ProtocolError("functions cannot be sent this way")
            return resolve_func(ref)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed value: {exc}") from None
    raise ProtocolError(f"unknown value tag {tag!r}")
