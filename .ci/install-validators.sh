#!/usr/bin/env bash
# Installs the validators ai-tools' tests run for real, into the repo itself:
#   .venv/          ruff, pyright, mypy and pytest from PyPI (pyright runs on the machine's node;
#                   `pyright[nodejs]` brings a node of its own where there is none)
#   node_modules/   typescript, @types/react, prettier, eslint, eslint-plugin-security and
#                   @typescript-eslint/parser, exactly as package-lock.json pins them (npm ci)
# Idempotent: a second run with everything in place only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
req=.ci/validators-requirements.txt
if ! command -v node >/dev/null 2>&1; then
  # No node on this machine: pyright's extra brings one of its own.
  sed 's/^pyright==/pyright[nodejs]==/' .ci/validators-requirements.txt > .venv/requirements.txt
  req=.venv/requirements.txt
fi
# pip skips what is already installed at the pinned version.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
# pyright's PyPI wrapper fetches the pyright npm package on first use: do it now, not in a test.
.venv/bin/pyright --version
.venv/bin/ruff --version
.venv/bin/mypy --version

if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/tsc --version
node_modules/.bin/prettier --version
node_modules/.bin/eslint --version
.venv/bin/pytest --version
