#!/usr/bin/env bash
# Set up .venv (with training, data, plot, serve and test extras) and run the whole test suite.
# Extra arguments go to pytest, e.g.  scripts/test.sh -m "not slow"
# Then runs the torch-free tests in .venv-notorch (scripts/test_torch_free.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,data,plot,serve,dev
export OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
set +e
.venv/bin/python -m pytest --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no tests; that is a failure here, not a pass" >&2
    exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"
# The runtime again, in a venv without torch (the edge promise). Same pytest arguments.
exec scripts/test_torch_free.sh "$@"
