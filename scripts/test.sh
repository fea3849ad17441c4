#!/usr/bin/env bash
# README command 2: install everything the tests need, then run the whole suite on SQLite and PostgreSQL.
# Idempotent. Extra arguments go to pytest (e.g. scripts/test.sh tests/foundation -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh test
.venv/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv --clear .venv  # (re)create a missing or broken venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
export DOCEXCHANGE_TEST_PG_URL
DOCEXCHANGE_TEST_PG_URL=$(bash scripts/pg.sh start)
trap 'bash scripts/pg.sh stop' EXIT
echo "PostgreSQL for tests: $DOCEXCHANGE_TEST_PG_URL"
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
