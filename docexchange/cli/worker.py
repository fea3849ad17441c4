"""``docexchange worker``: the exchange workers (send the outbox, poll the hub, receive and verify)."""

from __future__ import annotations

import os
import signal
import socket

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
    """Run the exchange workers. Any number may run at once: they coordinate through the database. A failed pass
    (database restarting, network down) is logged and retried with back-off up to 30 s; SIGTERM stops it."""
    import logging

    from sqlalchemy.exc import InterfaceError, OperationalError

    from ..exchange.engine import exchange_deps_for
    from ..exchange.worker import backoff_delay, interruptible_sleep, log, run_worker_loop
    from ..migrate import require_current

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    svc = Services(Settings.from_env())
    owner = f"{socket.gethostname()}:{os.getpid()}"
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    failures = 0
    while True:  # a worker started while its database restarts waits for it (a wrong schema still exits)
        try:
            require_current(svc.db.engine, wait_seconds=0)  # this loop waits, and SIGTERM interrupts it
            deps = exchange_deps_for(svc)
            break
        except (OperationalError, InterfaceError, OSError):
            if once:
                raise
            failures += 1
            delay = backoff_delay(interval, failures)
            log.exception("exchange worker waiting for the database (attempt %d); next try in %.1f s",
                          failures, delay)
            if interruptible_sleep(delay, lambda: stopping):
                return
    if failures:
        log.warning("exchange worker recovered after %d failed passes", failures)
    run_worker_loop(deps, owner, once=once, interval=interval, send=not no_send, receive=not no_receive,
                    batch=batch, lease_seconds=lease_seconds, should_stop=lambda: stopping)


commands = [worker_cmd]
