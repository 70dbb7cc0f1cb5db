"""The server's adapters: generated ones in an LRU cache, named ones, and GGUF files.

Used only from the engine thread (worker.py), so nothing here needs a lock: the cache holds
llama.cpp handles, and freeing one while another thread decodes with it would be a crash.

- generated: key (bundle id, normalised description) -> an adapter resident in llama.cpp.
  Least recently used ones are freed (Engine.unload) once the total passes the memory cap;
  a description used again is regenerated, byte for byte the same adapter.
- named: POST /v1/adapters binds a name to a description; `model: NAME` then selects it.
- files: *.gguf in --adapters-dir, validated against the base before llama.cpp sees them,
  named by their plain file name (no paths, so nothing outside the folder is reachable).
- lora ids: llama-server's integer ids, for files then named adapters in the order they
  appeared; POST /lora-adapters sets global scales for requests that name no adapter.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import T2LError
from ..formats.gguf_adapter import write_gguf
from ..core.paths import sha256_file
from ..core.text import MAX_CHARS, normalize_description
from ..formats.validate import validate_adapter
from .errors import ApiError
from .schemas import MAX_SCALE


_RAM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@dataclass
class Generated:
    key: tuple
    description: str
    handle: object  # engine.LoadedAdapter
    nbytes: int  # the f32 GGUF llama.cpp copied in: what the adapter costs in memory
    sha256: str  # of that GGUF: `t2l-edge make-adapter DESC --dtype f32` writes the same bytes
    rank: int
    delta_norm: float  # ||delta W||_F over every layer and module
    delta_norms: dict
    make_ms: float


@dataclass
class FileAdapter:
    name: str
    path: Path
    stamp: tuple  # (size, mtime_ns): a changed file is validated again
    lora_id: int
    report: object = None  # validate.AdapterReport, or None when invalid
    error: str = ""
    sha256: str = ""
    handle: object = None  # loaded on first use


@dataclass
class Named:
    name: str
    description: str
    lora_id: int
    info: dict = field(default_factory=dict)  # rank, norms, sha256 of its adapter


@dataclass(frozen=True)
class Ref:
    kind: str  # "description", "named" or "file"
    value: str  # the normalised description, or the name


def clean_description(text: str) -> str:
    try:
        clean, warning = normalize_description(text)
    except T2LError as exc:
        raise ApiError(400, exc.message, exc.hint, code="invalid_description", param="t2l.description") from None
    if warning:  # an API refuses rather than silently using part of the text
        raise ApiError(400, f"the description is {len(' '.join(text.split())):,} characters; the encoder reads about "
                       f"{MAX_CHARS:,}", "shorten it to one or two sentences", code="description_too_long",
                       param="t2l.description")
    return clean


def _norms(report_or_adapter) -> tuple[float, dict]:
    """Total and per-module ||delta W||_F from per-layer norms."""
    raw = report_or_adapter if isinstance(report_or_adapter, dict) else report_or_adapter.delta_norms()
    per = {m: float(math.sqrt(sum(float(x) ** 2 for x in v))) for m, v in raw.items()}
    return float(math.sqrt(sum(v * v for v in per.values()))), per


class AdapterStore:
    def __init__(self, engine, generator, adapters_dir: Path | None = None, cap_bytes: int = 256 << 20,
                 task_bank=None):
        self.engine, self.generator = engine, generator
        self.task_bank = task_bank  # `serve --nearest`: registering names the closest pool tasks
        self.adapters_dir = Path(adapters_dir).resolve() if adapters_dir else None
        if self.adapters_dir is not None and not self.adapters_dir.is_dir():
            raise T2LError(f"--adapters-dir {adapters_dir} is not a folder", "create it or pass another folder")
        self.cap_bytes = int(cap_bytes)
        self.bundle_id = generator.manifest.bundle_id
        self.base_id = engine.base_path.name.removesuffix(".gguf")
        self.cache: OrderedDict[tuple, Generated] = OrderedDict()
        self.named: dict[str, Named] = {}
        self.files: dict[str, FileAdapter] = {}
        self.ids: dict[int, tuple[str, str]] = {}  # lora id -> ("file" | "named", name)
        self.global_scales: dict[int, float] = {}
        self.stats = {"hits": 0, "misses": 0, "evictions": 0}
        self._next_id = 0
        self.refresh_files()

    # ---- files --------------------------------------------------------------------------
    def _new_id(self, kind: str, name: str) -> int:
        i, self._next_id = self._next_id, self._next_id + 1
        self.ids[i] = (kind, name)
        return i

    def refresh_files(self) -> None:
        """Pick up added, changed and removed *.gguf files in --adapters-dir."""
        if self.adapters_dir is None:
            return
        present = {p.name: p for p in sorted(self.adapters_dir.glob("*.gguf")) if p.is_file()}
        for name in [n for n in self.files if n not in present]:
            self._drop_file(name)
        for name, path in present.items():
            st = path.stat()
            old = self.files.get(name)
            if old is not None and old.stamp == (st.st_size, st.st_mtime_ns):
                continue
            if old is not None and old.handle is not None:
                self.engine.unload(old.handle)
            entry = FileAdapter(name, path, (st.st_size, st.st_mtime_ns), old.lora_id if old else self._new_id("file", name))
            try:
                if path.resolve().parent != self.adapters_dir:  # a symlink out of the folder
                    raise T2LError(f"{name} points outside --adapters-dir", "copy the file into the folder")
                entry.report = validate_adapter(path, self.engine.base_path)
                entry.sha256 = sha256_file(path)
            except T2LError as exc:
                entry.error = exc.one_line()
            self.files[name] = entry

    def _drop_file(self, name: str) -> None:
        entry = self.files.pop(name)
        if entry.handle is not None:
            self.engine.unload(entry.handle)
        self.ids.pop(entry.lora_id, None)
        self.global_scales.pop(entry.lora_id, None)

    def _file_name(self, name: str) -> str:
        """A request's file name, refused unless it is a plain name inside --adapters-dir."""
        if self.adapters_dir is None:
            raise ApiError(404, f"no adapter named '{name}'", "start the server with --adapters-dir to use GGUF files",
                           code="model_not_found")
        if any(c in name for c in "/\\\x00") or name.startswith("."):
            raise ApiError(400, f"'{name}' is not a plain file name inside --adapters-dir",
                           "name a .gguf file in that folder, without a path", code="invalid_adapter_path")
        path = (self.adapters_dir / name).resolve()
        if path.parent != self.adapters_dir:  # a symlink pointing out of the folder
            raise ApiError(400, f"'{name}' points outside --adapters-dir", "copy the file into the folder",
                           code="invalid_adapter_path")
        self.refresh_files()
        if name not in self.files:
            raise ApiError(404, f"no adapter file '{name}' in --adapters-dir", "GET /v1/adapters lists them",
                           code="model_not_found")
        return name

    def _file_handle(self, name: str):
        entry = self.files[name]
        if entry.error:
            raise ApiError(400, entry.error, code="invalid_adapter")
        if entry.handle is None:
            entry.handle = self.engine.load(entry.path)  # validates again: the file may have changed
        return entry.handle

    # ---- generated ----------------------------------------------------------------------
    def generated(self, description: str) -> tuple[Generated, bool]:
        """The cached adapter for a normalised description, made on a miss."""
        key = (self.bundle_id, description)
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            self.stats["hits"] += 1
            return hit, True
        self.stats["misses"] += 1
        t0 = time.perf_counter()
        adapter = self.generator.make(description)
        make_ms = (time.perf_counter() - t0) * 1000.0
        # llama.cpp only loads files; it copies the tensors, so the temp file can go at once.
        # In RAM when there is a tmpfs: write_gguf fsyncs, which costs ~20 ms on a disk.
        with tempfile.TemporaryDirectory(prefix="t2l-serve-", dir=_RAM_DIR) as tmp:
            path = write_gguf(adapter, Path(tmp) / "adapter.gguf", dtype="f32")
            data = path.read_bytes()
            handle = self.engine.load(path)
        total, per = _norms(adapter)
        entry = Generated(key, description, handle, len(data), hashlib.sha256(data).hexdigest(), adapter.rank,
                          total, per, make_ms)
        self.cache[key] = entry
        return entry, False

    def evict(self, keep: set) -> None:
        """Free least recently used generated adapters until under the cap (never `keep`)."""
        used = sum(g.nbytes for g in self.cache.values())
        for key in list(self.cache):
            if used <= self.cap_bytes:
                break
            if key in keep:
                continue
            entry = self.cache.pop(key)
            self.engine.unload(entry.handle)
            used -= entry.nbytes
            self.stats["evictions"] += 1

    # ---- names ----------------------------------------------------------------------------
    def resolve_name(self, name: str) -> Ref:
        if name in self.named:
            return Ref("named", name)
        if name.endswith(".gguf") or any(c in name for c in "/\\") or name.startswith("."):
            return Ref("file", self._file_name(name))
        raise ApiError(404, f"no adapter or model named '{name}'", "GET /v1/models lists them", code="model_not_found")

    def resolve_id(self, lora_id: int) -> Ref:
        if lora_id not in self.ids:
            raise ApiError(400, f"unknown lora id {lora_id}", "GET /lora-adapters lists the ids", code="invalid_lora_id",
                           param="lora")
        kind, name = self.ids[lora_id]
        return Ref(kind, name)

    def register(self, name: str, description: str) -> dict:
        if name in self.named or name == self.base_id or name in self.files:
            raise ApiError(409, f"the name '{name}' is taken", "DELETE /v1/adapters/NAME first, or pick another",
                           code="adapter_exists", param="name")
        entry, _ = self.generated(clean_description(description))
        self.named[name] = Named(name, entry.description, self._new_id("named", name))
        self.evict({entry.key})
        return {**self.describe_named(self.named[name], entry), **self._nearest(entry.description)}

    def _nearest(self, description: str) -> dict:
        """{"nearest": the 3 closest pool tasks, "warning" when none is close}, or {} without a bank."""
        if self.task_bank is None:
            return {}
        from ..runtime.task_bank import far_warning

        near = self.task_bank.nearest(self.generator.embed([description]), k=3)[0]
        warning = far_warning(description, near)
        return {"nearest": near, **({"warning": warning} if warning else {})}

    def delete(self, name: str) -> None:
        if name in self.named:
            entry = self.named.pop(name)
            self.ids.pop(entry.lora_id, None)
            self.global_scales.pop(entry.lora_id, None)
            return
        if name in self.files:
            raise ApiError(400, f"'{name}' is a file in --adapters-dir", "delete the file to remove it",
                           code="file_adapter")
        raise ApiError(404, f"no adapter named '{name}'", "GET /v1/adapters lists them", code="adapter_not_found")

    # ---- the adapters of one request ---------------------------------------------------
    def handle(self, ref: Ref):
        """(llama.cpp handle, what to report about it) for one reference; makes or loads it."""
        if ref.kind == "file":
            t0 = time.perf_counter()
            handle = self._file_handle(ref.value)
            entry = self.files[ref.value]
            return handle, {"adapter": ref.value, "description": entry.report.description, "sha256": entry.sha256,
                            "cached": True, "make_ms": 0.0, "load_ms": (time.perf_counter() - t0) * 1000.0}, None
        if ref.kind == "named":
            description = self.named[ref.value].description
        else:
            description = ref.value
        t0 = time.perf_counter()
        gen, cached = self.generated(description)
        total_ms = (time.perf_counter() - t0) * 1000.0
        make_ms = 0.0 if cached else gen.make_ms
        info = {"adapter": ref.value if ref.kind == "named" else None, "description": description,
                "sha256": gen.sha256, "cached": cached, "make_ms": make_ms, "load_ms": total_ms - make_ms}
        return gen.handle, info, gen.key

    def activate(self, plan: list[tuple[Ref, float]]) -> dict:
        """Make exactly `plan` active on the Engine: every adapter the request names at its
        scale, every other adapter off. Returns what was used and what it cost."""
        scales: dict[int, list] = {}  # id(handle) -> [handle, summed scale]: a named adapter and
        used, keep = [], set()  # its own description are one llama.cpp adapter, listed once
        for ref, scale in plan:
            handle, info, key = self.handle(ref)
            if key is not None:
                keep.add(key)
            used.append({**info, "scale": scale})
            scales.setdefault(id(handle), [handle, 0.0])[1] += scale
        # scale 0 is the base exactly, and costs nothing when left out
        pairs = [(h, s) for h, s in scales.values() if s > 0.0]
        if sum(s for _, s in pairs) > MAX_SCALE:
            raise ApiError(400, f"the scales add up to more than {MAX_SCALE:g}", "lower them", code="invalid_scale")
        t0 = time.perf_counter()
        self.engine.blend(pairs) if pairs else self.engine.clear()  # also drops the KV state
        switch_ms = (time.perf_counter() - t0) * 1000.0
        self.evict(keep)
        make_ms = sum(u["make_ms"] for u in used)
        load_ms = sum(u.pop("load_ms") for u in used)
        return {"adapters": used, "timings": {"make_ms": make_ms, "load_ms": load_ms, "switch_ms": switch_ms,
                                              "adapter_ms": make_ms + load_ms + switch_ms}}

    # ---- listings -------------------------------------------------------------------------
    def describe_named(self, named: Named, gen: Generated | None = None) -> dict:
        gen = gen or self.cache.get((self.bundle_id, named.description))
        if gen is not None:  # remember it: the cache entry may be evicted later
            named.info = {"rank": gen.rank, "delta_norm": gen.delta_norm, "delta_norms": gen.delta_norms,
                          "sha256": gen.sha256, "size_bytes": gen.nbytes}
        return {"name": named.name, "kind": "named", "description": named.description, "lora_id": named.lora_id,
                "resident": gen is not None, **named.info}

    def describe_file(self, f: FileAdapter) -> dict:
        out = {"name": f.name, "kind": "file", "lora_id": f.lora_id, "valid": not f.error,
               "resident": f.handle is not None, "size_bytes": f.stamp[0]}
        if f.error:
            return {**out, "error": f.error}
        total, per = _norms(f.report.delta_norms)
        return {**out, "description": f.report.description, "rank": f.report.rank, "delta_norm": total,
                "delta_norms": per, "sha256": f.sha256}

    def listing(self) -> dict:
        self.refresh_files()
        data = [self.describe_named(n) for n in self.named.values()] + [self.describe_file(f) for f in self.files.values()]
        cache = {"entries": len(self.cache), "bytes": sum(g.nbytes for g in self.cache.values()),
                 "cap_bytes": self.cap_bytes, **self.stats,
                 "descriptions": [{"description": g.description, "sha256": g.sha256, "rank": g.rank,
                                   "delta_norm": g.delta_norm} for g in reversed(self.cache.values())]}
        return {"object": "list", "data": data, "cache": cache, "bundle_id": self.bundle_id}

    def lora_listing(self) -> list[dict]:
        """GET /lora-adapters, in llama-server's shape (plus the name)."""
        self.refresh_files()
        rows = []
        for i, (kind, name) in sorted(self.ids.items()):
            if kind == "file":
                f = self.files[name]
                path, task = str(f.path), (f.report.description if f.report else "")
            else:
                path, task = "", self.named[name].description
            rows.append({"id": i, "path": path, "scale": self.global_scales.get(i, 0.0), "task_name": task,
                         "prompt_prefix": "", "name": name})
        return rows

    def set_global_scales(self, refs) -> None:
        """POST /lora-adapters: listed ids get their scale, every other id 0 (set explicitly)."""
        for r in refs:
            self.resolve_id(r.id)
        self.global_scales = {r.id: r.scale for r in refs}

    def models(self) -> list[str]:
        self.refresh_files()
        return [self.base_id, *self.named, *[n for n, f in self.files.items() if not f.error]]
