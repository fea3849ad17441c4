"""Run every benchmark and print one JSON object per line (interfaces.md). ``--quick`` keeps it short.

Each bench/<name>.py defines ``run(quick: bool = False) -> list[dict]``."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("sign", "verify", "cli", "exchange", "hub", "copies", "formats", "fuzz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args()
    names = args.only or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    sys.path.insert(0, str(HERE.parent))
    failed = 0
    for name in names:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            for row in module.run(quick=args.quick):
                print(json.dumps(row, ensure_ascii=False), flush=True)
        except Exception:
            failed += 1
            print(json.dumps({"name": f"{name}.error", "error": traceback.format_exc(limit=3)}), flush=True)
        print(f"# {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
