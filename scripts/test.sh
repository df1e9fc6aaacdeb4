#!/usr/bin/env bash
# Set up, then run the linters, the type checker and the whole test suite (fast profile).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh --thorough`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests scripts benchmarks
.venv/bin/mypy
# The storage tests run on PostgreSQL too: start a private, throwaway server (scripts/pg.sh)
# unless BACKSTORY_TEST_POSTGRES_URL is set already, and stop it on exit. Without a server
# those tests are skipped - except in CI (CI=true), which must test both backends.
if [ -z "${BACKSTORY_TEST_POSTGRES_URL:-}" ]; then
  if url=$(bash scripts/pg.sh up); then
    export BACKSTORY_TEST_POSTGRES_URL=$url
    trap 'bash scripts/pg.sh down "$BACKSTORY_TEST_POSTGRES_URL" || true' EXIT
  elif [ "${CI:-}" = "true" ]; then
    echo "test.sh: PostgreSQL could not be started and CI must test it; stopping." >&2
    exit 1
  else
    echo "test.sh: PostgreSQL could not be started; the PostgreSQL tests will be skipped." >&2
  fi
fi
.venv/bin/python -m pytest "$@"
