"""The ``docexchange`` command. Each capability contributes one module here exporting ``commands`` (a list of click
commands/groups). ``COMMANDS`` below names them, so that ``docexchange --help`` lists every command without
importing any (a module is imported only when its command runs or its own ``--help`` is asked for); a test keeps
the table and the modules in step (tests/foundation/test_cli_lazy.py)."""

from __future__ import annotations

import importlib
import sys

import click

# command name -> (module under docexchange.cli, first paragraph of the command's help as shown by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "archive": ("archive", 'Long-term validity: "verifiable until" dates and archive re-time-stamping (PAdES B-LTA).'),
    "axis": ("axis", "The mock national document-exchange axis (VDXP-style hub)."),
    "copies": ("copies", "Certified copies from originals (book SCT/BS)."),
    "db": ("node", "Database schema."),
    "edxml": ("edxml", "edXML (QCVN 102:2016) packages."),
    "formats": ("formats", "Format normalization on intake (documents → PDF, Vietnamese text → Unicode NFC)."),
    "init": ("node", "Migrate the database, create the dev PKI and the demo agencies, register them on the embedded "
                     "hub (idempotent)."),
    "ledger": ("node", "The tamper-evident audit ledger."),
    "peer": ("peer", "Per-peer exchange settings (unsigned packages from legacy systems)."),
    "pki": ("pki", "Dev CA: anchors, certificates, revocation (CRL/OCSP reflect it at once)."),
    "serve": ("node", "Run the node (web + API + PKI endpoints), the exchange workers and, unless --no-hub, the "
                      "embedded axis hub, the last two as child processes."),
    "sign": ("sign", "Sign IN.pdf once (profile person | seal | attachment | copy) and write OUT.pdf."),
    "tokens": ("users", "API bearer tokens (their values are never stored: only labels, roles and dates)."),
    "users": ("users", "Accounts of this node."),
    "verify": ("verify", "Validate every signature and document time-stamp in FILE.pdf."),
    "worker": ("worker", "Run the exchange workers."),
}


def load_command(name: str) -> click.Command:
    """Import the module that defines command ``name`` and return the command."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    for command in getattr(module, "commands", []):
        if command.name == name:
            return command  # type: ignore[no-any-return]
    raise LookupError(f"docexchange.cli.{COMMANDS[name][0]} does not define the command {name!r}")


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; the listing in ``--help`` comes from ``COMMANDS``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:  # the same text click would derive from the command's docstring, without importing it
                rows.append((name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="docexchange")
def main() -> None:
    """docexchange: sign, certify, exchange and verify Vietnamese administrative documents."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
