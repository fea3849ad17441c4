"""Issue 17 §5: ``docexchange --help`` starts at once. Counted, not timed: which heavy libraries a fresh process
has imported after ``--help`` (none) and after loading the ``verify`` command (no web, database or signing stack);
and the table that lets ``--help`` list commands without importing them agrees with the modules."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import click
from click.testing import CliRunner

import docexchange.cli as cli

HEAVY = ("pyhanko", "pyhanko_certvalidator", "sqlalchemy", "flask", "apiflask", "werkzeug", "pikepdf", "PIL",
         "cryptography", "aiohttp", "lxml", "requests", "fontTools", "alembic", "signxml", "docx", "waitress")

PROBE = """
import json, sys
sys.argv = ["docexchange"] + json.loads(sys.argv[1])
from docexchange.cli import main
try:
    main()
except SystemExit:
    pass
roots = {m.split(".")[0] for m in sys.modules}
print("\\n@@" + json.dumps(sorted(roots & set(%s))))
"""


def _loaded_after(args: list[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Heavy top-level packages in ``sys.modules`` of a fresh interpreter after ``docexchange ARGS``."""
    proc = subprocess.run([sys.executable, "-c", PROBE % json.dumps(list(heavy)), json.dumps(args)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.rsplit("\n@@", 1)[1])  # type: ignore[no-any-return]


def test_help_imports_no_heavy_library() -> None:
    assert _loaded_after(["--help"]) == []
    assert _loaded_after(["--version"]) == []


def test_verify_loads_only_the_validation_engine() -> None:
    """``verify --help`` imports the verify command (and so the engine), nothing of the web, database, signing
    or network stacks (pyHanko itself is imported by the analysis, in the child that runs it)."""
    assert _loaded_after(["verify", "--help"]) == ["PIL", "cryptography"]


def test_the_command_table_matches_the_modules() -> None:
    exported: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(cli.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"docexchange.cli.{info.name}")
        for command in getattr(module, "commands", []):
            assert command.name not in exported, f"{command.name} defined twice"
            first = click.Command(command.name, help=command.help).get_short_help_str(10_000)
            exported[command.name] = (info.name, first)
    table = {name: (module, click.Command(name, help=text).get_short_help_str(10_000))
             for name, (module, text) in cli.COMMANDS.items()}
    assert table == exported


def test_help_lists_the_same_as_with_every_command_loaded() -> None:
    def run(prelude: str) -> str:
        code = f"from docexchange.cli import COMMANDS, main; {prelude}; main(prog_name='docexchange')"
        proc = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "COLUMNS": "100"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    lazy = run("pass")
    eager = run("[main.get_command(None, name) for name in COMMANDS]")  # every command's own docstring
    assert lazy == eager
    assert all(f"  {name} " in lazy for name in cli.COMMANDS)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.main, ["no-such-command"])
    assert result.exit_code == 2 and "No such command 'no-such-command'" in result.output
