"""Fixtures for the formats tests: one LibreOffice pool per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from docexchange.formats.office import OfficePool


@pytest.fixture(scope="session")
def office_pool() -> Iterator[OfficePool]:
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice (soffice) is not installed")
    pool = OfficePool(2, timeout=60)
    pool.warm()
    yield pool
    pool.close()
