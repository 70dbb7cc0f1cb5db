"""`t2l-edge train` in an install without PyTorch (the runtime-only set-up) says what to install."""

import sys

import pytest

from t2l_edge.cli import main

pytestmark = pytest.mark.torch_free


def test_train_without_torch_is_one_line_with_the_fix(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError, as without it
    code = main(["train", "sft", "--set", f"out={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "needs PyTorch" in err and "scripts/setup.sh train" in err
