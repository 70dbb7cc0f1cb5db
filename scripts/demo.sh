#!/usr/bin/env bash
# Set up .venv (runtime only) and run the main job on the shipped default bundle:
# make an adapter from a description and show the base answer next to the adapted one.
#   scripts/demo.sh ["TASK DESCRIPTION" ["PROMPT"]]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE
DESC="${1:-Answer the multiple-choice science question with the text of the correct option.}"
PROMPT="${2:-Which gas do plants take in from the air to make food?
Options: oxygen | carbon dioxide | nitrogen | helium}"
exec .venv/bin/t2l-edge chat "$DESC" --prompt "$PROMPT" --compare
