"""A tiny strict serializer for the data a probe returns: the only thing that crosses from child to judge.

Allowed: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, and ``list``/``tuple``/
``dict`` (str keys) of those, plus numpy arrays and scalars of bool/int/uint/float/complex dtype. Types are
matched exactly (``type(x) is ...``): subclasses, object arrays, structured dtypes and anything else are
refused. A frame is ``MAGIC``, an 8-byte header length, a JSON header and raw array buffers; decoding
never calls anything the sender chose (no pickle), and rebuilds arrays from bytes with an allowlisted dtype.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

MAGIC = b"HYPW1\n"
MAX_DEPTH = 64
MAX_NODES = 1_000_000
MAX_DIMS = 32
_DTYPES = {
    np.dtype(t).str
    for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
}
_SCALARS = {
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
}


class WireError(ValueError):
    """Data that cannot be sent, or a frame that is not a well-formed one."""


def _float(x: float) -> str | float:
    return x if math.isfinite(x) else repr(x)


def _encode(x, buffers: list[bytes], depth: int):
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    t = type(x)
    if x is None:
        return ["n"]
    if t is bool:
        return ["b", x]
    if t is int:
        return ["i", str(x)]
    if t is float:
        return ["f", _float(x)]
    if t is complex:
        return ["c", _float(x.real), _float(x.imag)]
    if t is str:
        return ["s", x]
    if t is bytes:
        buffers.append(x)
        return ["y", len(buffers) - 1]
    if t is list or t is tuple:
        return ["l" if t is list else "t", [_encode(v, buffers, depth + 1) for v in x]]
    if t is dict:
        if any(type(k) is not str for k in x):
            raise WireError("dict keys must be str")
        return ["d", [[k, _encode(v, buffers, depth + 1)] for k, v in x.items()]]
    if t in _SCALARS:
        x = np.asarray(x)
        t = np.ndarray
    if t is np.ndarray:
        dtype = x.dtype.newbyteorder("<") if x.dtype.byteorder == ">" else x.dtype
        if dtype.str not in _DTYPES:
            raise WireError(f"array dtype {x.dtype} cannot be sent (numeric dtypes only)")
        buffers.append(np.ascontiguousarray(x, dtype=dtype).tobytes())
        return ["a", dtype.str, [int(n) for n in x.shape], len(buffers) - 1]
    raise WireError(
        f"cannot send a {t.__module__}.{t.__qualname__}: return plain data "
        "(numpy arrays, numbers, strings, lists/tuples/dicts of those)"
    )


def encode(value) -> bytes:
    """One frame holding ``value``; raises :class:`WireError` for anything not plain data."""
    buffers: list[bytes] = []
    tree = _encode(value, buffers, 0)
    header = json.dumps({"tree": tree, "sizes": [len(b) for b in buffers]}).encode()
    return b"".join([MAGIC, struct.pack(">Q", len(header)), header, *buffers])


class _Decoder:
    def __init__(self, buffers: list[bytes]) -> None:
        self.buffers, self.nodes = buffers, 0

    def num(self, v) -> float:
        if type(v) is str and v in ("nan", "inf", "-inf"):
            return float(v)
        if type(v) not in (int, float):
            raise WireError("bad float")
        return float(v)

    def node(self, n, depth: int):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise WireError("frame too deep or too large")
        if type(n) is not list or not n or type(n[0]) is not str:
            raise WireError("bad node")
        tag, args = n[0], n[1:]
        if tag == "n" and not args:
            return None
        if tag == "b" and len(args) == 1 and type(args[0]) is bool:
            return args[0]
        if tag == "i" and len(args) == 1 and type(args[0]) is str and len(args[0]) < 5000:
            return int(args[0])
        if tag == "f" and len(args) == 1:
            return self.num(args[0])
        if tag == "c" and len(args) == 2:
            return complex(self.num(args[0]), self.num(args[1]))
        if tag == "s" and len(args) == 1 and type(args[0]) is str:
            return args[0]
        if tag == "y" and len(args) == 1:
            return self.buffer(args[0])
        if tag in ("l", "t") and len(args) == 1 and type(args[0]) is list:
            items = [self.node(v, depth + 1) for v in args[0]]
            return items if tag == "l" else tuple(items)
        if tag == "d" and len(args) == 1 and type(args[0]) is list:
            out = {}
            for item in args[0]:
                if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                    raise WireError("bad dict item")
                out[item[0]] = self.node(item[1], depth + 1)
            return out
        if tag == "a" and len(args) == 3:
            return self.array(*args)
        raise WireError(f"bad node tag {tag!r}")

    def buffer(self, index) -> bytes:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise WireError("bad buffer index")
        return self.buffers[index]

    def array(self, dtype, shape, index) -> np.ndarray:
        if type(dtype) is not str or dtype not in _DTYPES:
            raise WireError(f"dtype {dtype!r} not allowed")
        if (
            type(shape) is not list
            or len(shape) > MAX_DIMS
            or any(type(s) is not int or s < 0 for s in shape)
        ):
            raise WireError("bad shape")
        dt = np.dtype(dtype)
        buf = self.buffer(index)
        if math.prod(shape) * dt.itemsize != len(buf):
            raise WireError("array size does not match its buffer")
        return np.frombuffer(buf, dtype=dt).reshape(shape).copy()


def decode(frame: bytes):
    """The value in a frame made by :func:`encode`; raises :class:`WireError` unless it is exactly one."""
    if not frame.startswith(MAGIC) or len(frame) < len(MAGIC) + 8:
        raise WireError("not a result frame")
    (hlen,) = struct.unpack(">Q", frame[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    if hlen > len(frame) - start:
        raise WireError("truncated frame")
    try:
        header = json.loads(frame[start : start + hlen])
    except (ValueError, RecursionError) as exc:
        raise WireError(f"bad header: {exc}") from exc
    if type(header) is not dict or set(header) != {"tree", "sizes"} or type(header["sizes"]) is not list:
        raise WireError("bad header")
    sizes = header["sizes"]
    if any(type(s) is not int or s < 0 for s in sizes) or start + hlen + sum(sizes) != len(frame):
        raise WireError("frame length does not match its header (exactly one frame expected)")
    buffers, pos = [], start + hlen
    for size in sizes:
        buffers.append(frame[pos : pos + size])
        pos += size
    try:
        return _Decoder(buffers).node(header["tree"], 0)
    except RecursionError as exc:
        raise WireError("frame too deep") from exc
