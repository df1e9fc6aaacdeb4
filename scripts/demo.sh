#!/usr/bin/env bash
# Set up, then start the web app with a few synthetic demo patients on a demo database
# (.venv/backstory-demo.db) and print the one-time set-up link for the first account.
#
#   bash scripts/demo.sh                 the web app on http://127.0.0.1:8000 (PORT=... to change)
#   bash scripts/demo.sh --cli [FILE]    the command-line example instead: assess FILE
#                                        (default examples/facet-pattern.json) and print the report
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/backstory knowledge check
if [ "${1:-}" = "--cli" ]; then
  echo
  exec .venv/bin/backstory assess "${2:-examples/facet-pattern.json}"
fi
demo_db="sqlite:///$PWD/.venv/backstory-demo.db"
# the demo database holds only synthetic patients: bring one from an older version up to date
if [ -f .venv/backstory-demo.db ]; then
  .venv/bin/backstory db upgrade --database "$demo_db" --user demo >/dev/null
fi
exec .venv/bin/backstory serve --demo --port "${PORT:-8000}" --database "$demo_db" "$@"
