"""The runtime path never imports torch or transformers (checked in a fresh interpreter)."""

import subprocess
import sys
import textwrap

from tiny_models import tiny_bundle, tiny_encoder


def test_make_adapter_path_imports_no_torch(tmp_path):
    folder, _, _ = tiny_bundle(tmp_path / "b", "M", encoder=tiny_encoder(tmp_path / "enc"))
    code = textwrap.dedent(f"""
        import sys
        import t2l_edge.cli, t2l_edge.runtime, t2l_edge.bundle, t2l_edge.engine, t2l_edge.validate
        from t2l_edge.cli import main
        rc = main(["make-adapter", "answer yes or no", "--bundle", r"{folder}", "-o", r"{tmp_path / 'a.gguf'}", "--json"])
        assert rc == 0, rc
        rc = main(["make-adapter", "answer yes or no", "--bundle", r"{folder}", "--format", "peft", "-o", r"{tmp_path / 'p'}"])
        assert rc == 0, rc
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print("HEAVY", heavy)
        assert not heavy, heavy
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HEAVY []" in out.stdout
