#!/usr/bin/env bash
# Set up, then run the linters, the type checker and the whole test suite (fast profile).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh --thorough`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests scripts benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
