#!/usr/bin/env bash
# Regenerate the lock files in requirements/ from pyproject.toml: exact versions with the
# hash of every file PyPI holds for them, for any platform (markers kept), Python 3.11+.
# Versions already pinned stay unless pyproject.toml needs others; to take newer ones,
# add --upgrade (or --upgrade-package NAME) and run the whole check before committing.
#   laptop.txt    pip install fieldapp              (a clinician's laptop)
#   server.txt    pip install 'fieldapp[server]'    (the clinic server)
#   dispatch.txt  pip install 'fieldapp[dispatch]'  (the dispatcher's office computer)
#   dev.txt       everything, with the test tools   (CI and developers)
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
compile() {  # output file, then uv's extra options
  local out=$1
  shift
  UV_NO_CONFIG=1 "$UV" pip compile pyproject.toml requirements/build.in \
    --universal --python-version 3.11 --generate-hashes --quiet \
    --custom-compile-command "bash scripts/lock.sh" -o "requirements/$out" "$@"
}
compile dev.txt --extra dev "$@"
# The others take the versions CI tests.
compile laptop.txt -c requirements/dev.txt
compile server.txt --extra server -c requirements/dev.txt
compile dispatch.txt --extra dispatch -c requirements/dev.txt
