"""The long-running processes: the scheduler, the inbox worker, and the single-node `run`
(receiver + worker + scheduler). Each is assembled from one `Wiring`.

All stop cleanly on SIGTERM/SIGINT: stop accepting, finish the event in hand, exit within 10 s.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from okr_jira.inbox.apply import BatchResult
from okr_jira.inbox.worker import run_worker
from okr_jira.runtime.http_server import EmbeddedServer
from okr_jira.runtime.leader import Leadership
from okr_jira.runtime.scheduler import build_scheduler
from okr_jira.runtime.wiring import Wiring

log = logging.getLogger(__name__)


def on_stop_signals(callback: Callable[[], None]) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("process.stopping", extra={"signal": signum})
        callback()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def http_server(wiring: Wiring, *, host: str, port: int) -> EmbeddedServer:
    """The receiver, the admin API and health, served by waitress."""
    from webhooks import create_app

    s = wiring.settings
    return EmbeddedServer(
        create_app(s, wiring=wiring), host=host, port=port, max_body_bytes=s.webhook_max_bytes,
        channel_timeout=s.http_idle_timeout_seconds,
    )  # fmt: skip


def serve(wiring: Wiring, *, host: str, port: int, announce: Callable[[int], None]) -> None:
    """`okr-jira serve`: the receiver alone, until SIGTERM/SIGINT."""
    done = threading.Event()
    on_stop_signals(done.set)
    server = http_server(wiring, host=host, port=port)
    announce(server.port)
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    done.wait()
    server.shutdown()


def run_scheduler(wiring: Wiring, *, election_seconds: float = 5.0) -> None:
    """`okr-jira scheduler`: blocks; leads when it holds the leadership, follows otherwise."""
    stop = threading.Event()
    on_stop_signals(stop.set)  # first: a SIGTERM during start-up still stops cleanly
    leadership = Leadership(wiring.engine)
    leadership.try_acquire()  # on SQLite a second scheduler stops here, saying why
    scheduler = BackgroundScheduler(timezone="UTC")
    build_scheduler(scheduler, wiring, leadership, election_seconds=election_seconds)
    try:
        scheduler.start()
        stop.wait()
        # Not wait=True: a job that is modifying the schedule (the catch-up) would wait for the
        # lock shutdown holds. Every job is safe to cut short: a sync or publish resumes.
        scheduler.shutdown(wait=False)
    finally:
        leadership.release()


def run_inbox_worker(wiring: Wiring, *, batch_size: int | None = None) -> BatchResult:
    """`okr-jira worker`: applies webhook events until SIGTERM/SIGINT."""
    from dataclasses import replace

    stop = threading.Event()
    on_stop_signals(stop.set)
    options = wiring.worker_options()
    if batch_size:
        options = replace(options, batch_size=batch_size)
    return run_worker(engine=wiring.engine, options=options, stop=stop)


class SingleNode:
    """`okr-jira run`: the receiver, the inbox worker and the scheduler in one process."""

    def __init__(self, wiring: Wiring, *, host: str, port: int) -> None:
        self.wiring = wiring
        self.stop_event = threading.Event()
        self.stop_requested = threading.Event()
        on_stop_signals(self.stop_requested.set)  # first: SIGTERM during start-up stops cleanly
        self.server = http_server(wiring, host=host, port=port)
        self.port = self.server.port
        self.leadership = Leadership(wiring.engine)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._threads: list[threading.Thread] = []

    def start(self) -> SingleNode:
        self.leadership.try_acquire()
        build_scheduler(self.scheduler, self.wiring, self.leadership, include_inbox=False)
        self.scheduler.start()
        self._threads = [
            threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True),
            threading.Thread(
                target=run_worker,
                kwargs={
                    "engine": self.wiring.engine,
                    "options": self.wiring.worker_options(),
                    "stop": self.stop_event,
                },
                name="inbox-worker",
                daemon=True,
            ),
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 8.0) -> None:
        """Stop accepting, let the worker finish its batch, stop the scheduler."""
        self.server.shutdown(timeout / 2)  # stops accepting, finishes requests in flight
        self.stop_event.set()
        for t in self._threads:
            t.join(timeout=timeout / 2)
            if t.is_alive():
                log.warning("process.thread_still_running", extra={"thread": t.name})
        self.scheduler.shutdown(wait=False)
        self.leadership.release()

    def serve_until_signal(self) -> None:
        self.stop_requested.wait()
        self.stop()
