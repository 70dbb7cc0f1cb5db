"""The torch-free generator: description in, Adapter out, with onnxruntime + tokenizers + numpy.

This is the library API desktop apps embed:

    from t2l_edge.runtime import Generator
    gen = Generator.load("models/default")
    adapter = gen.make("Answer the science question with the correct option.")
    write_gguf(adapter, "sci.gguf")
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .. import GENERATOR_NAME
from ..core.adapter import Adapter
from ..core.errors import T2LError
from ..core.guidance import check_guidance, guided
from ..core.text import normalize_description
from ..formats.keys import ENCODER_FILE, HYPERNET_FILE, HYPERNET_INPUT, TOKENIZER_FILE, lora_a_name, lora_b_name
from .bundle import Manifest, default_bundle_path, load_manifest
from .encoder_runtime import PRE_OPTIMIZED, OnnxEncoder, ort_session


class Generator:
    def __init__(self, bundle_dir: Path, manifest: Manifest, encoder: OnnxEncoder, hypernet):
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.encoder = encoder
        self.session = hypernet
        self.base = manifest.base
        self.warnings: list[str] = []
        self._reference: Adapter | None = None
        self._bank = None
        self._check_outputs()

    @classmethod
    def load(cls, bundle_dir: str | os.PathLike | None = None, threads: int | None = None,
             providers: list[str] | None = None, verify: bool | str = True) -> "Generator":
        d = Path(bundle_dir) if bundle_dir else default_bundle_path()
        man = load_manifest(d, verify=verify)
        info = man.raw["encoder"]
        enc = OnnxEncoder(d / ENCODER_FILE, d / TOKENIZER_FILE, info.get("max_length", 256), threads, providers,
                          pre_optimized=info.get("graph") == PRE_OPTIMIZED)
        return cls(d, man, enc, ort_session(d / HYPERNET_FILE, threads, providers))

    def _check_outputs(self) -> None:
        """The manifest's base shapes must be what the ONNX graph actually emits."""
        lora, base = self.manifest.lora, self.base
        outs = {o.name: o.shape for o in self.session.get_outputs()}
        for m in self.manifest.targets:
            fin, fout = base.shape(m)
            want = {lora_a_name(m): [base.n_layer, lora["rank"], fin], lora_b_name(m): [base.n_layer, fout, lora["rank"]]}
            for name, shape in want.items():
                got = outs.get(name)
                if got is None or list(got[1:]) != shape:
                    raise T2LError(
                        f"bundle {self.bundle_dir}: hypernet output {name} is {got}, manifest implies [tasks, {', '.join(map(str, shape))}]",
                        "the manifest does not belong to this hypernet.onnx; re-export the bundle",
                    )

    @property
    def reads_pieces(self) -> bool:
        """True for a generator that reads word pieces besides the pooled embedding (hypernet/reader.py)."""
        return bool(self.manifest.raw["hypernet"].get("config", {}).get("read_tokens"))

    def embed(self, descriptions: list[str]) -> np.ndarray:
        """[B, dim] pooled embeddings: what nearest-task search and the task bank compare."""
        return self.encoder.encode(descriptions)

    def hypernet_input(self, descriptions: list[str]) -> np.ndarray:
        """What the hypernetwork takes: pooled embeddings, or packed descriptions (core/description_seq.py)."""
        return self.encoder.encode_packed(descriptions) if self.reads_pieces else self.encoder.encode(descriptions)

    def make(self, description: str, guidance: float = 1.0) -> Adapter:
        return self.make_batch([description], guidance)[0]

    def make_batch(self, descriptions: list[str], guidance: float = 1.0) -> list[Adapter]:
        """One adapter per description, generated in one batched forward pass. guidance != 1
        scales each adapter's difference from the description-free one (core/guidance.py)."""
        if not descriptions:
            raise T2LError("no descriptions given", "pass at least one description")
        check_guidance(guidance)
        self.warnings = []
        clean = []
        for d in descriptions:
            text, warning = normalize_description(d)
            if warning:
                self.warnings.append(warning)
            clean.append(text)
        emb = self.hypernet_input(clean)
        self.warnings += self.encoder.warnings
        for w in self.warnings:
            warnings.warn(w, stacklevel=2)
        adapters = self._adapters(emb, clean)
        if guidance != 1.0:
            ref = self.reference()
            adapters = [guided(a, ref, guidance) for a in adapters]
        return adapters

    def reference(self) -> Adapter:
        """The description-free adapter guidance pushes away from: the one made from the centroid
        of the training descriptions' embeddings (each pool task's mean counts once), scaled to
        their mean length (runtime/task_bank.py, cached per bundle). A generator that reads word
        pieces reads those of the empty text with it: [CLS] and [SEP], no words."""
        if self._reference is None:
            emb = self.task_bank().reference_embedding()[None]
            if self.reads_pieces:
                packed = self.encoder.encode_packed([""])
                packed[0, 0, : emb.shape[1]] = emb[0]
                emb = packed
            self._reference = self._adapters(emb, ["(description-free reference)"])[0]
        return self._reference

    def task_bank(self, announce=None):
        """The pool's tasks as centroids of their descriptions' embeddings (runtime/task_bank.py)."""
        if self._bank is None:
            from .task_bank import task_bank

            self._bank = task_bank(self, announce)
        return self._bank

    def _adapters(self, emb: np.ndarray, texts: list[str]) -> list[Adapter]:
        try:
            outputs = self.session.run(None, {HYPERNET_INPUT: emb})
        except Exception as exc:  # onnxruntime's own error types
            raise T2LError(f"the hypernetwork failed: {str(exc).splitlines()[0][:160]}", "the bundle is inconsistent; re-export it") from None
        named = dict(zip([o.name for o in self.session.get_outputs()], outputs))
        lora = self.manifest.lora
        adapters = []
        for i, text in enumerate(texts):
            ad = Adapter(
                description=text, base=self.base, rank=int(lora["rank"]), alpha=float(lora["alpha"]),
                use_rslora=bool(lora["use_rslora"]),
                A={m: named[lora_a_name(m)][i] for m in self.manifest.targets},
                B={m: named[lora_b_name(m)][i] for m in self.manifest.targets},
                generator=GENERATOR_NAME, extra={"bundle_id": self.manifest.bundle_id,
                                                 "variant": self.manifest.raw["hypernet"]["variant"]},
            )
            ad.check_finite()
            adapters.append(ad)
        return adapters
