"""Validate a GGUF LoRA adapter against a base model before llama.cpp ever sees it.

llama-cpp-python 0.3.36 does not notice when `llama_adapter_lora_init` fails: it keeps a NULL
adapter and the process segfaults on the next evaluation. So every check llama.cpp would make
(src/llama-adapter.cpp) is repeated here in Python, plus the ones it does not make (finite
values, the base the adapter was made for), and failures become one-line T2LErrors.

Shapes: the gguf reader reports ggml order (ne0 first), the reverse of numpy. A base matrix
numpy [out, in] is ggml [in, out]; lora_a numpy [r, in] is ggml [in, r]; lora_b numpy [out, r]
is ggml [r, out].
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gguf
import numpy as np

from ..core.arch import ARCHITECTURES, gguf_tensor_name
from ..core.basemodel import file_sha256
from ..core.errors import T2LError
from .keys import KEY_BASE_NAME, KEY_BASE_SHA256, KEY_GENERATOR
from .gguf_meta import check_gguf_file, read_header

ACCEPTED_DTYPES = {
    gguf.GGMLQuantizationType.F32: "F32",
    gguf.GGMLQuantizationType.F16: "F16",
    gguf.GGMLQuantizationType.BF16: "BF16",
}
_QUANT_SIZES = {int(k): v for k, v in gguf.GGML_QUANT_SIZES.items()}  # ggml type id -> (block, bytes)
_SUFFIXES = (".lora_a", ".lora_b")
# llama.cpp stores the token-embedding LoRA's A transposed (it is a row lookup, not a matmul).
_TOKEN_EMBD = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.TOKEN_EMBD] + ".weight"


@dataclass
class AdapterReport:
    """What a validated adapter is; `warnings` are non-fatal findings."""

    path: str
    description: str
    arch: str
    rank: int
    alpha: float  # adapter.lora.alpha; llama.cpp scales by alpha / rank
    targets: list[str]  # module names (q_proj, ...) or raw base tensor names if unknown
    n_layers: int
    dtype: str
    generator: str
    base_sha256_recorded: str  # "" for foreign adapters
    base_sha256_actual: str
    base_verified: bool
    delta_norms: dict[str, list[float]] = field(default_factory=dict)  # target -> per layer
    warnings: list[str] = field(default_factory=list)

    @property
    def scale(self) -> float:
        return self.alpha / self.rank if self.rank else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "scale": self.scale}


def _fail(path: Path, what: str, hint: str):
    raise T2LError(f"adapter {path.name}: {what}", hint)


@dataclass(frozen=True)
class _Tensor:
    """One adapter tensor from the header; `shape` is ggml order (ne0 first)."""

    name: str
    shape: tuple[int, ...]
    ttype: int
    offset: int

    @property
    def type_name(self) -> str:
        try:
            return gguf.GGMLQuantizationType(self.ttype).name
        except ValueError:
            return f"unknown type {self.ttype}"

    @property
    def n_bytes(self) -> int:
        # plain ints: np.prod and the enum lookup were a third of a validation's time
        block, size = _QUANT_SIZES.get(self.ttype, (1, 0))
        return math.prod(self.shape) * size // block


def _tensor_data(buf: memoryview, t: _Tensor) -> np.ndarray:
    """Tensor data in numpy order: a zero-copy f16/f32 view, or bf16 widened to float32."""
    shape = tuple(reversed(t.shape))
    count = math.prod(shape)
    if t.ttype == gguf.GGMLQuantizationType.BF16:
        bits = np.frombuffer(buf, np.uint16, count, t.offset).astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    dtype = np.float16 if t.ttype == gguf.GGMLQuantizationType.F16 else np.float32
    return np.frombuffer(buf, dtype, count, t.offset).reshape(shape)


@functools.lru_cache(maxsize=8)
def _module_lookup(arch: str, n_layer: int) -> dict[str, tuple[str, int]]:
    """base tensor name -> (module, layer) for the table's projections."""
    out = {}
    for module in ARCHITECTURES[arch].modules if arch in ARCHITECTURES else ():
        for layer in range(n_layer):
            out[gguf_tensor_name(module, layer)] = (module, layer)
    return out


def _read_base(base_path: Path):
    """(architecture, {tensor: ggml shape}, block count) of the base, from its header only."""
    header = read_header(base_path)
    kv = header.kv
    if kv.get("general.type") == "adapter":
        raise T2LError(f"{base_path.name} is a LoRA adapter, not a base model", "pass the model GGUF as the base")
    arch = kv.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise T2LError(f"base {base_path.name} has no general.architecture", "is this a llama.cpp model GGUF?")
    shapes = {name: shape for name, (shape, _, _) in header.tensors.items()}
    n_layer = int(kv.get(f"{arch}.block_count") or 0)
    return arch, shapes, n_layer


def _open_adapter(path: Path):
    """Header of the adapter; size, magic and parse failures become T2LError."""
    if not path.is_file():
        raise T2LError(f"adapter {path} not found", "check the path")
    check_gguf_file(path, f"adapter {path.name}:", "pass a .gguf adapter file")
    try:
        return read_header(path)
    except T2LError as exc:
        # The magic was right but the header is unreadable: in practice a cut-off file.
        detail = exc.message.split("(", 1)[-1][:-1]  # read_header's "(<reason>)" suffix
        _fail(path, f"is truncated or corrupt ({detail})", "re-download or re-create it")


def _check_header(path: Path, kv: dict, base_arch: str) -> None:
    gtype = kv.get("general.type")
    if gtype != "adapter":
        what = "is a model GGUF, not a LoRA adapter" if gtype in (None, "model") else f"has general.type '{gtype}'"
        _fail(path, what + " (general.type must be 'adapter')", "pass an adapter made by make-adapter or convert_lora_to_gguf.py")
    atype = kv.get(gguf.Keys.Adapter.TYPE)
    if atype != "lora":
        _fail(path, f"adapter.type is '{atype}', only 'lora' is supported", "pass a plain LoRA adapter")
    arch = kv.get("general.architecture")
    if arch != base_arch:
        _fail(path, f"was made for architecture '{arch}', the base is '{base_arch}'", "use an adapter made for this base model")
    if not isinstance(kv.get(gguf.Keys.Adapter.LORA_ALPHA), (int, float)):
        _fail(path, "has no adapter.lora.alpha", "re-export it with an alpha (llama.cpp would silently use scale 1)")


def _check_ranges(path: Path, tensors: list[_Tensor], data_start: int, alignment: int) -> None:
    """ggml's loader wants tensor data packed in file order, each start padded to the
    alignment; it refuses any other layout (found by tests/test_fuzz_validator.py)."""
    size = path.stat().st_size
    expected = data_start
    for t in tensors:
        if t.offset != expected:
            _fail(path, f"is corrupt: tensor {t.name} starts at byte {t.offset}, expected {expected}", "re-download or re-create it")
        if t.offset + t.n_bytes > size:
            _fail(path, f"is truncated: tensor {t.name} ends past the end of the file", "re-download or re-create it")
        expected += -(-t.n_bytes // alignment) * alignment


def _split(name: str) -> tuple[str, str] | None:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix[1:]
    return None


def _pair_shapes(path: Path, base_name: str, a, b, base_shape: tuple[int, ...]) -> int:
    """Check one lora_a/lora_b pair against its base tensor; return its rank."""
    a_shape = tuple(int(x) for x in a.shape)  # ggml order
    b_shape = tuple(int(x) for x in b.shape)
    if len(base_shape) != 2 or len(a_shape) != 2 or len(b_shape) != 2:
        _fail(path, f"{base_name}: LoRA needs 2-D tensors, got a{a_shape} b{b_shape} for base {base_shape}", "re-create the adapter")
    fin, fout = base_shape
    rank = b_shape[0]
    want_a = (rank, fin) if base_name == _TOKEN_EMBD else (fin, rank)
    np_a, np_b = a_shape[::-1], b_shape[::-1]
    if a_shape != want_a:
        if a_shape == want_a[::-1]:
            _fail(path, f"{base_name}.lora_a is transposed: numpy shape {np_a}, expected {want_a[::-1]} ([rank, in])",
                  "write PEFT's lora_A.weight as is, without transposing")
        _fail(path, f"{base_name}.lora_a has numpy shape {np_a}, the base needs {want_a[::-1]} ([rank, in])",
              "the adapter was made for another base model")
    if b_shape != (rank, fout):
        if b_shape == (fout, rank) or b_shape[::-1] == (rank, fout):
            _fail(path, f"{base_name}.lora_b is transposed: numpy shape {np_b}, expected ({fout}, {rank})",
                  "write PEFT's lora_B.weight as is, without transposing")
        _fail(path, f"{base_name}.lora_b has numpy shape {np_b}, the base needs ({fout}, {rank}) ([out, rank])",
              "the adapter was made for another base model")
    return rank


def _delta_norms(a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """||scale * B @ A||_F of each stacked pair [n, r, in] / [n, out, r], via the r x r Gram
    matrices (cheap at small rank)."""
    gram_a = a @ a.transpose(0, 2, 1)  # [n, r, r]
    gram_b = b.transpose(0, 2, 1) @ b
    sq = np.einsum("nij,nji->n", gram_a, gram_b)
    return scale * np.sqrt(np.maximum(sq, 0.0))


def _pair_halves(path: Path, tensors: list[_Tensor], base_shapes: dict) -> dict[str, dict[str, _Tensor]]:
    """{base tensor: {"lora_a": t, "lora_b": t}}; every tensor must be half of a pair on a base tensor."""
    halves: dict[str, dict[str, _Tensor]] = {}
    for t in tensors:
        split = _split(t.name)
        if split is None:
            _fail(path, f"has unexpected tensor '{t.name}' (LoRA tensors end in .lora_a/.lora_b)", "remove it or re-create the adapter")
        base_name, half = split
        if base_name not in base_shapes:
            _fail(path, f"tensor '{t.name}' targets '{base_name}', which does not exist in the base model",
                  "the adapter was made for another base model (or a fused-QKV conversion)")
        halves.setdefault(base_name, {})[half] = t
    if not halves:
        _fail(path, "contains no LoRA tensors", "re-create the adapter")
    return halves


@dataclass
class _Measured:
    rank: int
    dtypes: set[str]
    norms: dict[str, dict[int, float]]  # module -> layer -> ||scale * B @ A||_F


def _measure_pairs(path: Path, halves: dict, base_shapes: dict, alpha: float, lookup: dict) -> _Measured:
    """Shapes, one rank, finite values and the delta norm of every pair, in name order."""
    buf = memoryview(path.read_bytes())  # adapters are small; one read, then zero-copy views
    ranks: set[int] = set()
    dtypes: set[str] = set()
    groups: dict[tuple, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for base_name in sorted(halves):
        pair = halves[base_name]
        if len(pair) != 2:
            missing = "lora_b" if "lora_a" in pair else "lora_a"
            _fail(path, f"'{base_name}' is missing one component ({missing})", "re-create the adapter")
        a, b = pair["lora_a"], pair["lora_b"]
        ranks.add(_pair_shapes(path, base_name, a, b, base_shapes[base_name]))
        if len(ranks) > 1:
            _fail(path, f"mixes LoRA ranks {sorted(ranks)}", "t2l-edge expects one rank for every tensor; re-create the adapter")
        dtypes.update(ACCEPTED_DTYPES[t.ttype] for t in (a, b))
        a_data, b_data = _tensor_data(buf, a), _tensor_data(buf, b)
        if base_name == _TOKEN_EMBD:
            a_data = a_data.T
        groups.setdefault((a_data.shape, b_data.shape), []).append((base_name, a_data, b_data))
    rank = ranks.pop()
    # llama.cpp: scale = alpha / rank, or 1 when alpha is 0 (llama-graph.cpp build_lora_mm)
    scale = alpha / rank if alpha else 1.0
    norms: dict[str, dict[int, float]] = {}
    for members in groups.values():  # one stacked numpy call per shape, not one per pair
        names = [m[0] for m in members]
        a_all = _stack_f32([m[1] for m in members])
        b_all = _stack_f32([m[2] for m in members])
        _require_finite(path, names, a_all, b_all)
        for name, value in zip(names, _delta_norms(a_all, b_all, scale)):
            module, layer = lookup.get(name, (name, 0))
            norms.setdefault(module, {})[layer] = float(value)
    return _Measured(rank, dtypes, norms)


@functools.lru_cache(maxsize=1)
def _f16_table() -> np.ndarray:
    """float32 value of every float16 bit pattern (256 KiB): a table lookup widens f16 about
    twice as fast as numpy's astype on this kind of CPU (measured in bench/bench_llama.py)."""
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


def _stack_f32(parts: list[np.ndarray]) -> np.ndarray:
    """Same-shape tensors stacked into one float32 array, widened while they are copied."""
    out = np.empty((len(parts), *parts[0].shape), dtype=np.float32)
    table = _f16_table()
    for i, x in enumerate(parts):
        if x.dtype == np.float16:
            np.take(table, x.view(np.uint16), out=out[i])
        else:
            out[i] = x
    return out


def _require_finite(path: Path, names: list[str], a_all: np.ndarray, b_all: np.ndarray) -> None:
    """Fail on the first pair of this shape group (in name order) holding a NaN or Inf."""
    bad_a = ~np.isfinite(a_all).reshape(len(names), -1).all(axis=1)
    bad_b = ~np.isfinite(b_all).reshape(len(names), -1).all(axis=1)
    for name, in_a, in_b in zip(names, bad_a, bad_b):
        if in_a or in_b:
            _fail(path, f"{name}.{'lora_a' if in_a else 'lora_b'} contains NaN or Inf",
                  "the generator or training diverged; re-create the adapter")


def _check_base_identity(path: Path, kv: dict, base_path: Path, allow_mismatch: bool) -> tuple[str, str, bool, list[str]]:
    """(recorded base sha256, actual base sha256, verified, warnings): the base the adapter
    records against the one given."""
    warnings: list[str] = []
    recorded = str(kv.get(KEY_BASE_SHA256) or "")
    actual = file_sha256(base_path)
    if not recorded:
        warnings.append("adapter does not record its base model (not made by t2l-edge); cannot verify it matches this base")
        return recorded, actual, False, warnings
    if recorded == actual:
        return recorded, actual, True, warnings
    made_for = kv.get(KEY_BASE_NAME) or recorded[:12]
    msg = f"was made for base '{made_for}' (sha256 {recorded[:12]}…), not {base_path.name} (sha256 {actual[:12]}…)"
    if not allow_mismatch:
        _fail(path, msg, "use the matching base with --base, or pass --allow-base-mismatch if you know they are compatible")
    warnings.append("base mismatch allowed: adapter " + msg)
    return recorded, actual, False, warnings


def validate_adapter(
    adapter_path: str | os.PathLike,
    base_path: str | os.PathLike,
    allow_base_mismatch: bool = False,
) -> AdapterReport:
    """Check that `adapter_path` is a LoRA llama.cpp will load and apply correctly on `base_path`.

    Raises T2LError on the first problem. Foreign adapters (without t2l_edge metadata) pass
    with a warning because their base cannot be verified.
    """
    path = Path(adapter_path)
    base_path = Path(base_path)
    header = _open_adapter(path)
    kv = header.kv
    base_arch, base_shapes, n_layer = _read_base(base_path)
    _check_header(path, kv, base_arch)
    tensors = [_Tensor(n, shape, ttype, off) for n, (shape, ttype, off) in header.tensors.items()]
    for t in tensors:  # dtype first: n_bytes of an unknown type is meaningless
        if t.ttype not in ACCEPTED_DTYPES:
            _fail(path, f"tensor '{t.name}' has dtype {t.type_name}; llama.cpp LoRA needs F32, F16 or BF16", "re-export with --dtype f16")
    _check_ranges(path, tensors, header.data_start, int(kv.get("general.alignment", 32)))
    halves = _pair_halves(path, tensors, base_shapes)
    alpha = float(kv[gguf.Keys.Adapter.LORA_ALPHA])
    measured = _measure_pairs(path, halves, base_shapes, alpha, _module_lookup(base_arch, n_layer))
    recorded, actual, verified, warnings = _check_base_identity(path, kv, base_path, allow_base_mismatch)
    if alpha == 0.0:
        warnings.append("adapter.lora.alpha is 0: llama.cpp then applies the LoRA unscaled")
    norms = measured.norms
    return AdapterReport(
        path=str(path), description=str(kv.get(gguf.Keys.Adapter.LORA_TASK_NAME) or ""), arch=base_arch,
        rank=measured.rank, alpha=alpha, targets=sorted(norms), n_layers=max(len(v) for v in norms.values()),
        dtype="/".join(sorted(measured.dtypes)), generator=str(kv.get(KEY_GENERATOR) or ""),
        base_sha256_recorded=recorded, base_sha256_actual=actual, base_verified=verified,
        delta_norms={m: [v[k] for k in sorted(v)] for m, v in norms.items()}, warnings=warnings,
    )


def validate_adapter_object(adapter, base_path: str | os.PathLike, allow_base_mismatch: bool = False,
                            label: str = "in-memory adapter") -> AdapterReport:
    """The checks of validate_adapter on an Adapter still in memory, before it is written for
    llama.cpp (Engine.load): the file is then ours, produced by formats/gguf_adapter from these
    checked arrays, so it need not be read back. Every pair must sit on a base tensor of the
    right shape, values must be finite, and the recorded base must match. The report equals the
    one validate_adapter gives for the same adapter written as f32 (tests/test_validate.py)."""
    base_path = Path(base_path)
    base_arch, base_shapes, _ = _read_base(base_path)
    path = Path(label)
    if adapter.base.arch != base_arch:
        _fail(path, f"was made for architecture '{adapter.base.arch}', the base is '{base_arch}'",
              "use an adapter made for this base model")
    for module in sorted(adapter.A):
        fin, fout = adapter.base.shape(module)  # Adapter.__post_init__ holds A and B to these
        for layer in range(adapter.base.n_layer):
            name = gguf_tensor_name(module, layer)
            if base_shapes.get(name) != (fin, fout):
                _fail(path, f"'{name}' is {base_shapes.get(name, 'missing')} in the base, the adapter needs ({fin}, {fout})",
                      "the adapter was made for another base model")
    adapter.check_finite()
    kv = {KEY_BASE_SHA256: adapter.base.sha256, KEY_BASE_NAME: adapter.base.name}
    recorded, actual, verified, warnings = _check_base_identity(path, kv, base_path, allow_base_mismatch)
    alpha = float(np.float32(adapter.gguf_alpha))  # as the file stores it
    if alpha == 0.0:
        warnings.append("adapter.lora.alpha is 0: llama.cpp then applies the LoRA unscaled")
    scale = alpha / adapter.rank if alpha else 1.0
    norms = {m: [float(v) for v in _delta_norms(adapter.A[m].astype(np.float32, copy=False),
                                                 adapter.B[m].astype(np.float32, copy=False), scale)]
             for m in sorted(adapter.A)}
    return AdapterReport(
        path=label, description=adapter.description, arch=base_arch, rank=adapter.rank, alpha=alpha,
        targets=sorted(norms), n_layers=adapter.base.n_layer, dtype="F32", generator=adapter.generator,
        base_sha256_recorded=recorded, base_sha256_actual=actual, base_verified=verified,
        delta_norms=norms, warnings=warnings,
    )
