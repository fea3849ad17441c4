"""``docexchange worker``: the exchange workers (send the outbox, poll the hub, receive and verify)."""

from __future__ import annotations

import os
import signal
import socket
import time

import click

from ..config import Settings
from ..services import Services


@click.command("worker")
@click.option("--once", is_flag=True, help="One pass of sending and receiving, then exit.")
@click.option("--interval", default=1.0, type=float, show_default=True, help="Seconds between idle passes.")
@click.option("--no-receive", is_flag=True)
@click.option("--no-send", is_flag=True)
@click.option("--batch", default=20, type=int, show_default=True, help="Outbox rows claimed per pass.")
@click.option("--lease-seconds", default=120, type=int, show_default=True,
              help="How long claimed rows stay reserved for this worker (a killed worker's rows wait this long).")
def worker_cmd(once: bool, interval: float, no_receive: bool, no_send: bool, batch: int, lease_seconds: int) -> None:
    """Run the exchange workers. Any number may run at once: they coordinate through the database."""
    from ..exchange.engine import exchange_deps_for
    from ..exchange.service import receive_pending, send_pending
    from ..migrate import require_current

    svc = Services(Settings.from_env())
    require_current(svc.db.engine)
    deps = exchange_deps_for(svc)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopping:
        busy = 0
        if not no_send:
            busy += send_pending(deps, owner, batch, lease_seconds)
        if not no_receive:
            counts = receive_pending(deps, owner)
            busy += sum(v for k, v in counts.items() if k not in ("retry_later", "busy_elsewhere"))
        if not no_send:
            busy += send_pending(deps, owner, batch, lease_seconds)  # statuses produced by this pass go out at once
        if once:
            break
        if not busy:
            time.sleep(interval)


commands = [worker_cmd]
