"""Shared fixtures. Capability-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("DOCEXCHANGE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (fixtures and docs); tests that need it skip when it is absent."""
    if not (SHARED_DIR / "fixtures").is_dir():
        pytest.skip(f"../shared/fixtures not found at {SHARED_DIR} (set DOCEXCHANGE_SHARED_DIR)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave rendered PNGs, screenshots and reports for humans (git-ignored)."""
    path = REPO_ROOT / "artifacts"
    path.mkdir(exist_ok=True)
    return path
