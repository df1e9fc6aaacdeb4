#!/usr/bin/env bash
# Create .venv (if needed) and install Backstory with its test tools. Safe to run again.
#
# The browser tests (tests/web/test_web_a11y.py, test_web_e2e.py) also need:
#   - Debian's Chromium (found as $CHROMIUM_PATH or `chromium` on the PATH). When it is
#     missing and we are root, it is installed with apt-get. Nothing ever downloads a
#     browser of its own: `playwright install` is never run.
#   - axe-core from the npm registry, installed into .cache/axe (or give $AXE_CORE_PATH).
# Without them the browser tests are skipped with the reason - except in CI (CI=true),
# where this script stops with an error instead, and the tests fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
AXE_DIR=.cache/axe
AXE_VERSION=${AXE_VERSION:-4}

say() { echo "setup.sh: $*" >&2; }
ci() { [ "${CI:-}" = "true" ]; }

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian's Chromium for Playwright (toolchain notes, sections 0 and 5).
chromium=${CHROMIUM_PATH:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium with apt-get (for the browser tests)"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core >&2
    chromium=$(command -v chromium || true)
  fi
fi
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  if ci; then
    say "Chromium is missing and could not be installed; CI must run the browser tests."
    exit 1
  fi
  say "Chromium not found: the browser tests will be skipped (install Debian's chromium)."
fi

# axe-core for the accessibility tests, from the npm registry (never fetched by a test).
if [ -z "${AXE_CORE_PATH:-}" ] && [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    say "installing axe-core@$AXE_VERSION into $AXE_DIR"
    npm install --prefix "$AXE_DIR" --no-audit --no-fund --loglevel=error \
      "axe-core@$AXE_VERSION" >&2 || true
  fi
  if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    if ci; then
      say "axe-core could not be installed (npm); CI must run the accessibility tests."
      exit 1
    fi
    say "axe-core not installed: the accessibility tests will be skipped (needs npm)."
  fi
fi
