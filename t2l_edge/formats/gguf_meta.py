"""Fast GGUF header reader: metadata scalars and the tensor table, nothing else.

gguf.GGUFReader builds a numpy view for every element of every array field; on SmolLM2 the
49k-token vocabulary and merges make that take ~4 s. Validating an adapter needs only the
base's architecture, block count and tensor shapes, so this reader walks the header with
struct, skips arrays without materialising them, and never touches tensor data (~50 ms).
Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (little-endian files only).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gguf

from ..core.errors import T2LError

_T = gguf.GGUFValueType
# fixed-size GGUF value types -> struct format of one scalar (STRING and ARRAY are walked)
_SCALARS = {_T.UINT8: "<B", _T.INT8: "<b", _T.UINT16: "<H", _T.INT16: "<h", _T.UINT32: "<I", _T.INT32: "<i",
            _T.FLOAT32: "<f", _T.BOOL: "<?", _T.UINT64: "<Q", _T.INT64: "<q", _T.FLOAT64: "<d"}
MAGIC = struct.pack("<I", gguf.GGUF_MAGIC)  # b"GGUF", as the first bytes of a little-endian file
MIN_SIZE = struct.calcsize("<IIQQ")  # magic, version, tensor count, metadata count: 24 bytes


def check_gguf_file(path: Path, label: str, hint: str) -> None:
    """Refuse a file that cannot be a GGUF by its size or magic, before any parser reads it.
    Errors read "<label> is not a GGUF file (...)" with `hint`."""
    size = path.stat().st_size
    if size < MIN_SIZE:
        raise T2LError(f"{label} is not a GGUF file (only {size} bytes)", hint)
    with open(path, "rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise T2LError(f"{label} is not a GGUF file (bad magic)", hint)


@dataclass(frozen=True)
class GGUFHeader:
    kv: dict  # scalar and string values; arrays are stored as ("array", elem_type, length)
    tensors: dict  # name -> (ggml shape tuple, ggml type id, absolute data offset)
    data_start: int  # where the (aligned) tensor data section begins


class _Cursor:
    def __init__(self, fh):
        self.fh = fh

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        data = self.fh.read(size)
        if len(data) != size:
            raise EOFError("unexpected end of file")
        return struct.unpack(fmt, data)[0]

    def string(self) -> str:
        n = self.take("<Q")
        if n > 1 << 24:
            raise ValueError(f"implausible string length {n}")
        data = self.fh.read(n)
        if len(data) != n:
            raise EOFError("unexpected end of file")
        return data.decode("utf-8", "replace")

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == _T.STRING:
            return self.string()
        if vtype == _T.ARRAY:
            etype, n = self.take("<I"), self.take("<Q")
            if etype in _SCALARS:  # fixed size: seek over it
                self.fh.seek(n * struct.calcsize(_SCALARS[etype]), os.SEEK_CUR)
            elif etype == _T.STRING:
                for _ in range(n):
                    self.fh.seek(self.take("<Q"), os.SEEK_CUR)
            else:
                for _ in range(n):
                    self.value(etype)
            return ("array", etype, n)
        raise ValueError(f"unknown GGUF value type {vtype}")


@lru_cache(maxsize=16)
def _read_cached(path: str, size: int, mtime_ns: int) -> GGUFHeader:
    with open(path, "rb") as fh:
        cur = _Cursor(fh)
        if fh.read(len(MAGIC)) != MAGIC:
            raise ValueError("bad magic")
        version = cur.take("<I")
        if version not in (2, 3):
            raise ValueError(f"unsupported GGUF version {version}")
        n_tensors, n_kv = cur.take("<Q"), cur.take("<Q")
        kv = {}
        for _ in range(n_kv):
            key = cur.string()
            kv[key] = cur.value(cur.take("<I"))
        tensors = {}
        for _ in range(n_tensors):
            name = cur.string()
            if name in tensors:
                raise ValueError(f"duplicated tensor {name}")
            n_dims = cur.take("<I")
            shape = tuple(cur.take("<Q") for _ in range(n_dims))
            ttype = cur.take("<I")
            tensors[name] = (shape, ttype, cur.take("<Q"))
        align = kv.get("general.alignment", 32)
        if not isinstance(align, int) or align <= 0 or align & (align - 1):  # ggml: a power of two
            raise ValueError(f"bad general.alignment {align!r}")
        data_start = -(-fh.tell() // align) * align
    tensors = {n: (shape, t, data_start + off) for n, (shape, t, off) in tensors.items()}
    return GGUFHeader(kv=kv, tensors=tensors, data_start=data_start)


def read_header(path: str | os.PathLike) -> GGUFHeader:
    """Metadata and tensor table of a GGUF file (cached by path, size and mtime)."""
    p = Path(path)
    if not p.is_file():
        raise T2LError(f"{p} not found", "check the path")
    st = p.stat()
    try:
        return _read_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise T2LError(f"{p} is not a readable GGUF file ({exc})", "the file may be truncated or corrupt") from None
