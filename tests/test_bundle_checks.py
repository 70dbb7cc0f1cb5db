"""A damaged or mismatched bundle is refused with one clear error, before anything runs."""

import json
import shutil

import pytest

from t2l_edge.core.errors import T2LError
from t2l_edge.runtime import Generator
from tests.helpers.tiny_models import tiny_hypernet

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


@pytest.fixture(scope="module")
def bundle(stored_bundle):
    """(folder,): the committed tiny bundle, read-only (tests copy it before changing it)."""
    return (stored_bundle,)


def _copy(bundle, tmp_path):
    dst = tmp_path / "b"
    shutil.copytree(bundle[0], dst)
    return dst


def _edit_manifest(folder, fn):
    man = json.loads((folder / "manifest.json").read_text())
    fn(man)
    (folder / "manifest.json").write_text(json.dumps(man))


def test_missing_file(bundle, tmp_path):
    b = _copy(bundle, tmp_path)
    (b / "hypernet.onnx").unlink()
    with pytest.raises(T2LError, match="missing"):
        Generator.load(b)


def test_checksum_mismatch(bundle, tmp_path):
    b = _copy(bundle, tmp_path)
    data = bytearray((b / "encoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (b / "encoder.onnx").write_bytes(bytes(data))
    with pytest.raises(T2LError, match="checksum"):
        Generator.load(b)


def test_a_file_changed_after_its_digest_was_cached_is_still_refused(bundle, tmp_path, monkeypatch):
    import os

    from t2l_edge.core import digest_cache

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    b = _copy(bundle, tmp_path)
    Generator.load(b)  # verified: digests cached with each file's stamp
    assert (tmp_path / "cache" / digest_cache.CACHE_FILE).is_file()
    hashed = []
    monkeypatch.setattr(digest_cache, "sha256_file", lambda f: hashed.append(f) or "0" * 64)
    Generator.load(b)
    assert hashed == []  # unchanged files are trusted from the cache
    f = b / "encoder.onnx"
    st = os.stat(f)
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))  # same size, and the old mtime put back: only the ctime tells
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    monkeypatch.undo()
    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(T2LError, match="checksum"):
        Generator.load(b)


def test_full_verify_hashes_every_file_again(bundle, tmp_path, monkeypatch):
    from t2l_edge.core import digest_cache

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    b = _copy(bundle, tmp_path)
    Generator.load(b)
    real, hashed = digest_cache.sha256_file, []
    monkeypatch.setattr(digest_cache, "sha256_file", lambda f: hashed.append(f) or real(f))
    Generator.load(b, verify="full")
    assert sorted(p.name for p in hashed) == sorted(json.loads((b / "manifest.json").read_text())["files"])


def test_truncated_onnx_with_matching_checksum_still_fails_cleanly(bundle, tmp_path):
    from t2l_edge.runtime.bundle import sha256_file

    b = _copy(bundle, tmp_path)
    (b / "hypernet.onnx").write_bytes((b / "hypernet.onnx").read_bytes()[:1000])
    _edit_manifest(b, lambda m: m["files"].update({"hypernet.onnx": sha256_file(b / "hypernet.onnx")}))
    with pytest.raises(T2LError, match="cannot load hypernet.onnx"):
        Generator.load(b)


def test_newer_format_version(bundle, tmp_path):
    b = _copy(bundle, tmp_path)
    _edit_manifest(b, lambda m: m.update(format_version=99))
    with pytest.raises(T2LError, match="newer"):
        Generator.load(b)


def test_manifest_base_disagrees_with_onnx(bundle, tmp_path):
    b = _copy(bundle, tmp_path)
    _edit_manifest(b, lambda m: m["base"].update(hidden=128))
    with pytest.raises(T2LError, match="manifest implies"):
        Generator.load(b)


def test_not_a_bundle(tmp_path):
    with pytest.raises(T2LError, match="manifest.json"):
        Generator.load(tmp_path)


def test_default_bundle_absent_says_what_to_do(monkeypatch, tmp_path):
    from t2l_edge.runtime.bundle import default_bundle_path

    monkeypatch.setenv("T2L_EDGE_BUNDLE", str(tmp_path / "nothing"))
    with pytest.raises(T2LError, match="no trained default bundle"):
        default_bundle_path()


def test_export_refuses_to_overwrite(bundle, tmp_path, request):
    pytest.importorskip("torch")  # export is the torch side
    from t2l_edge.export.bundle_writer import write_bundle

    encoder = request.getfixturevalue("tiny_encoder_export")
    b = _copy(bundle, tmp_path)
    with pytest.raises(T2LError, match="already exists"):
        write_bundle(tiny_hypernet("M"), b, {}, encoder=encoder, log=lambda s: None)


def test_manifest_with_unknown_target_or_arch(bundle, tmp_path):
    b = _copy(bundle, tmp_path)
    _edit_manifest(b, lambda m: m["lora"].update(targets=["q_proj", "lm_head"]))
    with pytest.raises(T2LError, match="invalid LoRA settings"):
        Generator.load(b)
    _edit_manifest(b, lambda m: (m["lora"].update(targets=["q_proj"]), m["base"].update(arch="gpt2")))
    with pytest.raises(T2LError, match="unsupported architecture"):
        Generator.load(b)


def test_load_bundle_returns_the_verified_manifest(bundle):
    from t2l_edge.runtime.bundle import load_bundle

    man = load_bundle(bundle[0])
    assert man.base.n_layer == 2 and man.targets == ("q_proj", "v_proj") and len(man.bundle_id) == 16


def test_the_default_bundle_is_the_repositorys_models_default():
    from pathlib import Path

    from t2l_edge.runtime.bundle import repo_models_dir

    assert repo_models_dir() == Path(__file__).resolve().parents[1] / "models"
