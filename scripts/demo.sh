#!/usr/bin/env bash
# Set up, then assess a bundled example and print the readable report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/backstory knowledge check
echo
.venv/bin/backstory assess "${1:-examples/facet-pattern.json}"
