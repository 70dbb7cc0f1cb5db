"""Every module under t2l_edge imports, so a stale import path fails here in seconds rather
than in the one code path that reaches it. Modules that need an optional extra are imported
only where that extra is installed. That the runtime side never loads torch is checked in
test_runtime_imports.py."""

import importlib
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# subpackage -> the optional packages its modules import when they load
EXTRAS = {
    "t2l_edge.train": ("torch",),
    "t2l_edge.hypernet": ("torch",),
    "t2l_edge.export": ("torch", "onnx"),
    "t2l_edge.server": ("fastapi", "sse_starlette"),
}
# every optional dependency in pyproject's extras, as import names
OPTIONAL = ("torch", "transformers", "accelerate", "peft", "onnx", "onnxscript", "pyarrow", "matplotlib",
            "sklearn", "fastapi", "starlette", "uvicorn", "sse_starlette")


def all_modules() -> list[str]:
    import t2l_edge
    import t2l_edge.export  # installed from export/, outside t2l_edge's folder: walk it too

    names = {"t2l_edge", "t2l_edge.export"}
    for pkg in (t2l_edge, t2l_edge.export):
        names |= {m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")}
    return sorted(names)


def group_of(module: str) -> str | None:
    return next((p for p in EXTRAS if module == p or module.startswith(p + ".")), None)


def test_walk_finds_the_pipeline_packages():
    names = all_modules()
    for pkg in ("core", "formats", "runtime", "engine", "export", "commands", "server", "train"):
        assert f"t2l_edge.{pkg}" in names
    assert len(names) > 80


@pytest.mark.parametrize("group", sorted(EXTRAS))
def test_modules_with_extras_import(group):
    for extra in EXTRAS[group]:
        pytest.importorskip(extra)
    for name in [m for m in all_modules() if group_of(m) == group]:
        importlib.import_module(name)


def test_other_modules_import_without_any_extra():
    """Outside the EXTRAS subpackages nothing may need an optional dependency at import time:
    run with every optional package made unimportable."""
    base = [m for m in all_modules() if group_of(m) is None]
    code = textwrap.dedent(f"""
        import importlib, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {OPTIONAL!r}:
                    raise ModuleNotFoundError(f"optional {{name}} blocked", name=name)

        sys.meta_path.insert(0, Block())
        for name in {base!r}:
            importlib.import_module(name)
        print("OK", len({base!r}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"OK {len(base)}" in out.stdout


def test_pyproject_lists_every_package():
    """pyproject names the packages by hand (export/ maps to t2l_edge.export); a new subpackage
    missing from that list would be left out of the wheel."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "t2l_edge").rglob("__init__.py")}
    found |= {"t2l_edge.export"}
    assert listed == found


def test_export_is_not_a_top_level_package(tmp_path):
    # from a folder other than the repo, whose export/ would otherwise be on sys.path
    out = subprocess.run([sys.executable, "-c", "import export"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert out.returncode != 0 and "No module named 'export'" in out.stderr
