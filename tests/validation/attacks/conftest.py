"""The red-team corpus shares one kit per session: the live node's PKI, identities and built documents."""

from __future__ import annotations

import pytest

from tests.conftest import LiveNode
from tests.validation.attacks.kit import Kit


@pytest.fixture(scope="session")
def attack_kit(live_node: LiveNode) -> Kit:
    return Kit(live_node)
