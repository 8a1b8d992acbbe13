#!/usr/bin/env bash
# Install the project and run the demo: the README's first command.
# The demo runs a clinic server beside the laptop's app: the server extra, from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --require-hashes -r requirements/server.txt
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e '.[server]'
exec .venv/bin/fieldapp demo "$@"
