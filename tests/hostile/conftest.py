"""Hostile-input fixtures: a canary working directory (relative traversal would land in it) and the signing
environment of tests/signing (a real signed PDF for the verification engine's mutations)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.signing.conftest import signing_env  # noqa: F401 - re-exported fixture

from ._guard import STATS


@pytest.fixture
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """cwd = <canary>/a/b for the test, so ``../../x`` written relative to cwd would appear inside <canary>."""
    root = tmp_path_factory.mktemp("canary")
    (root / "a" / "b").mkdir(parents=True)
    (root / "keep.txt").write_text("canary")
    old = os.getcwd()
    os.chdir(root / "a" / "b")
    try:
        yield root
    finally:
        os.chdir(old)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATS:
        terminalreporter.write_sep("-", "hostile input: cases, worst time, worst peak-RSS growth")
        for target, s in sorted(STATS.items()):
            terminalreporter.write_line(f"{target}: {s.as_dict()}")
