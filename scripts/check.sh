#!/usr/bin/env bash
# Install the project with its dev tools and run every test and check.
# This is the README's test command; .ci/run calls exactly this.
# Everything comes from the lock file: exact versions, each file checked against its hash.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --require-hashes -r requirements/dev.txt
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e '.[dev]'
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";          ruff format --check . && ruff check .
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
if fieldapp protocol --help >/dev/null 2>&1; then
  echo "== protocol cases"; fieldapp protocol check
fi
echo "== pytest";        pytest -q "$@"
