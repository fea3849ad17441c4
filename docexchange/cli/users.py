"""Accounts and API tokens: list and revoke bearer tokens, set a password, disable or enable an account.
Every change is a ledger entry; a password change or a disabled account ends the user's page sessions."""

from __future__ import annotations

import os
import sys

import click

from ..config import Settings
from ..errors import DomainError
from ..services import Services


def _services() -> Services:
    return Services(Settings.from_env())


def _fail(exc: DomainError) -> None:
    click.echo(f"error [{exc.code}]: {exc.en}\nlỗi: {exc.vi}", err=True)
    sys.exit(4)


def _user(s: object, username: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from ..models import User

    user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()  # type: ignore[attr-defined]
    if user is None:
        raise click.UsageError(f"no user {username!r} on this node")
    return user


ACTOR = "cli"


@click.group("tokens")
def tokens_group() -> None:
    """API bearer tokens (their values are never stored: only labels, roles and dates)."""


@tokens_group.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked and expired tokens.")
def tokens_list(username: str | None, show_all: bool) -> None:
    """List tokens: id, user, role, label, created, expires, state."""
    from ..auth import list_tokens
    from ..db import utcnow

    svc = _services()
    with svc.db.reading() as s:
        uid = _user(s, username).id if username else None
        now = utcnow()
        click.echo(f"{'ID':>5}  {'USER':22} {'ROLE':10} {'LABEL':20} {'CREATED':16} {'EXPIRES':16} STATE")
        for t in list_tokens(s, uid):
            state = "revoked" if t.revoked else "expired" if t.expires_at <= now else "active"
            if state != "active" and not show_all:
                continue
            click.echo(f"{t.id:>5}  {t.user.username:22} {t.role:10} {t.name[:20]:20} "
                       f"{t.created_at:%d/%m/%Y %H:%M} {t.expires_at:%d/%m/%Y %H:%M} {state}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id (it stops working at once)."""
    from ..auth import revoke_token

    svc = _services()
    try:
        with svc.db.transaction() as s:
            row = revoke_token(s, svc.ledger, token_id, actor=ACTOR)
            click.echo(f"token {row.id} of {row.user.username} revoked")
    except DomainError as exc:
        _fail(exc)


@click.group("users")
def users_group() -> None:
    """Accounts of this node."""


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-env", default=None, help="Environment variable holding the new password "
                                                  "(otherwise it is asked for).")
def users_passwd(username: str, password_env: str | None) -> None:
    """Set a new password; the user's page sessions end."""
    from ..auth import change_password

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise click.UsageError(f"environment variable {password_env} is not set")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    svc = _services()
    try:
        with svc.db.transaction() as s:
            change_password(s, svc.ledger, _user(s, username), password, actor=ACTOR)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"password of {username} changed; its sessions ended")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account: its sessions end and its tokens stop working."""
    from ..auth import set_active

    svc = _services()
    with svc.db.transaction() as s:
        set_active(s, svc.ledger, _user(s, username), False, actor=ACTOR)
    click.echo(f"{username} disabled")


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable an account again."""
    from ..auth import set_active

    svc = _services()
    with svc.db.transaction() as s:
        set_active(s, svc.ledger, _user(s, username), True, actor=ACTOR)
    click.echo(f"{username} enabled")


commands = [tokens_group, users_group]
