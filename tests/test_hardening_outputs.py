"""Outputs: nothing half-written, nothing overwritten, races resolved, runs reproducible."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from t2l_edge.core.atomic import atomic_output
from t2l_edge.core.errors import T2LError
from t2l_edge.formats.gguf_adapter import write_gguf
from tests.helpers.tiny_models import tiny_bundle, tiny_spec
from tests.helpers.tinyllama import random_adapter

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

REPO = Path(__file__).resolve().parent.parent


def test_disk_full_mid_write_leaves_nothing(tmp_path, monkeypatch):
    """Simulated: the GGUF writer's tensor phase raises ENOSPC after the header is on disk."""
    import gguf

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full)
    with pytest.raises(T2LError, match="disk full"):
        write_gguf(random_adapter(tiny_spec()), tmp_path / "a.gguf")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_refused_before_work(tmp_path, monkeypatch):
    """Simulated: tests run as root, so os.access is patched to report a read-only folder."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path and mode == os.W_OK else real(p, mode))
    with pytest.raises(T2LError, match="not writable"):
        with atomic_output(tmp_path / "a.gguf"):
            raise AssertionError("must not get here")


def test_failed_write_keeps_the_existing_file(tmp_path):
    target = tmp_path / "a.gguf"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target, force=True) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.gguf"]


def test_two_processes_race_for_one_path(tmp_path):
    """Both write the same path at once without --force: exactly one wins, the file is whole."""
    code = textwrap.dedent("""
        import sys, time
        from t2l_edge.core.atomic import atomic_output
        from t2l_edge.core.errors import T2LError
        path, payload = sys.argv[1], sys.argv[2].encode() * 200000
        try:
            with atomic_output(path) as tmp:
                tmp.write_bytes(payload)
                time.sleep(0.5)  # both are now past the up-front existence check
            print("WON")
        except T2LError as e:
            print("LOST", e.message)
    """)
    target = tmp_path / "race.gguf"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target), tag], stdout=subprocess.PIPE, text=True, cwd=REPO)
             for tag in ("a", "b")]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(o.split()[0] for o in outs) == ["LOST", "WON"], outs
    assert "already exists" in [o for o in outs if o.startswith("LOST")][0]
    data = target.read_bytes()
    assert data in (b"a" * 200000, b"b" * 200000)
    assert [p.name for p in tmp_path.iterdir()] == ["race.gguf"]


def test_same_description_same_bytes_across_processes(tmp_path, request):
    pytest.importorskip("torch")  # builds an L bundle (export: the torch side)
    folder, _, _ = tiny_bundle(tmp_path / "b", "L", encoder=request.getfixturevalue("tiny_encoder_export"))
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}.gguf"
        r = subprocess.run([sys.executable, "-m", "t2l_edge.cli", "make-adapter", "answer yes or no", "--bundle", str(folder),
                            "-o", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_no_pickle_anywhere():
    """Safe loading: safetensors, ONNX and GGUF only."""
    offenders = []
    for path in [*(REPO / "t2l_edge").rglob("*.py"), *(REPO / "export").rglob("*.py")]:
        text = path.read_text()
        for bad in ("import pickle", "pickle.load", "allow_pickle=True", "torch.save(", "joblib"):
            if bad in text:
                offenders.append(f"{path.name}: {bad}")
        if "torch.load(" in text and "weights_only=True" not in text:
            offenders.append(f"{path.name}: torch.load without weights_only=True")
    assert not offenders


def test_outputs_get_the_umask_mode_not_the_temp_files_0600(tmp_path):
    """A written adapter must be readable by whoever the umask allows (e.g. a llama.cpp server
    running as another user), not left at mkstemp's owner-only 0600."""
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
