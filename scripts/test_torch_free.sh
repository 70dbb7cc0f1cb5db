#!/usr/bin/env bash
# The edge promise: make-adapter, the generator, GGUF/PEFT writing, validation, the engine and the
# server work without torch. Creates (or reuses) .venv-notorch/ with the runtime dependencies only
# (no train extra; the serve and dev extras, which are torch-free) and runs the tests marked
# torch_free there, after checking that torch really is not importable.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-notorch
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    echo '*' > "$VENV/.gitignore"  # keep it out of git status
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[serve,dev]"
echo "torch-free venv ready in $(( $(date +%s) - start ))s"
if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "error: torch is importable in $VENV; the torch-free run would prove nothing" >&2
    exit 1
fi
if "$VENV/bin/python" -c "import transformers" 2>/dev/null; then
    echo "error: transformers is importable in $VENV" >&2
    exit 1
fi
export OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Only the modules that carry the marker: the others import torch at the top.
mapfile -t files < <(grep -l "pytest.mark.torch_free" tests/test_*.py)
set +e
"$VENV/bin/python" -m pytest -m torch_free -p no:cacheprovider "${files[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no torch-free tests; that is a failure here, not a pass" >&2
    exit 1
fi
exit "$rc"
