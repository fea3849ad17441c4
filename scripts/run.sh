#!/usr/bin/env bash
# README command 1: set up and run the node on its embedded defaults (SQLite, dev PKI, demo agencies,
# embedded axis hub) on 127.0.0.1. Idempotent: re-running keeps the existing data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh runtime
.venv/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv --clear .venv  # (re)create a missing or broken venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
.venv/bin/docexchange init
.venv/bin/python - <<'PY'
import json, pathlib
s = json.loads(pathlib.Path("instance/secrets.json").read_text())
print(f"demo password for every login above: {s['demo_password']}   key PIN: {s['demo_pin']}")
PY
exec .venv/bin/docexchange serve "$@"
