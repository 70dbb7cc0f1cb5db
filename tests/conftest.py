"""Shared, session-scoped tiny worlds. Everything is built lazily, on first use by a test, never
at collection. This file imports no torch: the torch-free runtime run (scripts/test_torch_free.sh,
`pytest -m torch_free`) loads it in a venv without torch. Fixtures that need torch import it
when first used.

Fixtures hand out shared files: tests must not modify them (copy first, e.g. `tiny_bundle_copy`).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest


def pytest_configure(config):
    # One intra-op thread for every torch test (the CI machine and this VM have 2 busy cores).
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_encoder_export(tmp_path_factory) -> dict:
    """tiny_encoder(seed 0) exported once per session (needs torch): the dict write_bundle takes."""
    from tests.helpers.tiny_models import tiny_encoder

    return tiny_encoder(tmp_path_factory.mktemp("tiny-encoder") / "enc")


@pytest.fixture(scope="session")
def stored_bundle() -> Path:
    """The committed tiny bundle (tests/data/tiny_bundle, variant M): read-only, no torch needed."""
    from tests.helpers.tiny_models import STORED_BUNDLE

    return STORED_BUNDLE


@pytest.fixture
def tiny_bundle_copy(stored_bundle, tmp_path) -> Path:
    """A private, writable copy of the stored tiny bundle."""
    return Path(shutil.copytree(stored_bundle, tmp_path / "tiny-bundle"))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """TinyLlama() written once as a GGUF base (numpy + gguf, no torch). Read-only."""
    from tests.helpers.tinyllama import TinyLlama

    return TinyLlama().write(tmp_path_factory.mktemp("tiny-base") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_base_spec(tiny_base):
    from t2l_edge.core.basemodel import read_base_spec

    return read_base_spec(tiny_base)


@pytest.fixture(scope="session")
def tiny_llama_bundle(tiny_base_spec, stored_bundle, tmp_path_factory) -> Path:
    """The stored tiny bundle with its manifest pointed at the tiny llama base, so it generates
    adapters that base accepts. Read-only."""
    folder = Path(shutil.copytree(stored_bundle, tmp_path_factory.mktemp("tiny-llama-bundle") / "bundle"))
    man = json.loads((folder / "manifest.json").read_text())
    man["base"] = tiny_base_spec.to_dict()
    (folder / "manifest.json").write_text(json.dumps(man))
    return folder


@pytest.fixture(scope="session")
def hardening_world(tmp_path_factory):
    """(world, cases) of tests/helpers/hardening_cases.py, built once (no torch)."""
    from tests.helpers.hardening_cases import build_world

    return build_world(tmp_path_factory.mktemp("hardening") / "w")
