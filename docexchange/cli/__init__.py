"""The ``docexchange`` command. Each capability contributes one module here exporting ``commands``
(a list of click commands/groups); this file only collects them."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="docexchange")
def main() -> None:
    """docexchange: sign, certify, exchange and verify Vietnamese administrative documents."""


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "commands", []):
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
