"""Role-aware navigation. Each views module lists its entries in ``NAV``; an entry whose ``key`` matches a
placeholder slot (views/slots.py) replaces it, so a flow's real page slots in without touching the layout."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NavItem:
    key: str  # stable identifier; a real page replaces the placeholder slot with the same key
    label: Callable[[], str] | Any  # a lazy_gettext string
    endpoint: str
    roles: frozenset[str]
    order: int = 100
    slot: bool = False  # a placeholder for a flow that has no page yet
    values: dict[str, str] = field(default_factory=dict)  # URL values for url_for


def collect_nav(items: Iterable[NavItem]) -> list[NavItem]:
    by_key: dict[str, NavItem] = {}
    for item in items:
        current = by_key.get(item.key)
        if current is None or (current.slot and not item.slot):
            by_key[item.key] = item
    return sorted(by_key.values(), key=lambda i: (i.order, i.key))


def nav_for(items: list[NavItem], role: str) -> list[NavItem]:
    return [i for i in items if role in i.roles]
