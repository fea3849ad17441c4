"""The same real-process deployment, the nodes speaking the VDXP SDK's scheme to the hub's VDXP face, as a node
pointed at the national axis would (issue 19 §2): send, receive, verify, statuses back, recall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exchange import test_exchange as dxhub1
from tests.exchange.conftest import Axis, build_axis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def axis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Axis]:
    yield from build_axis(tmp_path_factory, "vdxp")


def test_vdxp_issued_document_is_verified_registered_and_acknowledged(axis: Axis, tmp_path: Path) -> None:
    dxhub1.test_issued_document_is_verified_registered_and_acknowledged(axis, tmp_path)


def test_vdxp_clerk_actions_send_04_05_06_back(axis: Axis, tmp_path: Path) -> None:
    dxhub1.test_clerk_actions_send_04_05_06_back(axis, tmp_path)


def test_vdxp_recall_removes_the_document_at_the_recipient_and_it_answers_15(axis: Axis, tmp_path: Path) -> None:
    dxhub1.test_recall_removes_the_document_at_the_recipient_and_it_answers_15(axis, tmp_path)


def test_vdxp_tampered_package_is_refused_with_02(axis: Axis, tmp_path: Path) -> None:
    dxhub1.test_tampered_package_is_refused_with_02_and_the_sender_sees_why(axis, tmp_path)
