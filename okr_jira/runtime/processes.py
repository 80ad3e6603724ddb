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
from apscheduler.schedulers.blocking import BlockingScheduler

from okr_jira.inbox.apply import BatchResult
from okr_jira.inbox.worker import run_worker
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


def run_scheduler(wiring: Wiring, *, election_seconds: float = 5.0) -> None:
    """`okr-jira scheduler`: blocks; leads when it holds the leadership, follows otherwise."""
    scheduler = BlockingScheduler(timezone="UTC")
    stopping = threading.Event()

    def stop() -> None:
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    # Before anything slow: a SIGTERM while starting up stops it cleanly, not by default action.
    on_stop_signals(stop)
    leadership = Leadership(wiring.engine)
    leadership.try_acquire()  # on SQLite a second scheduler stops here, saying why
    try:
        build_scheduler(scheduler, wiring, leadership, election_seconds=election_seconds)
        if not stopping.is_set():
            scheduler.start()
    finally:
        leadership.release()


def run_inbox_worker(wiring: Wiring, *, batch_size: int | None = None) -> BatchResult:
    """`okr-jira worker`: applies webhook events until SIGTERM/SIGINT."""
    from dataclasses import replace

    options = wiring.worker_options()
    if batch_size:
        options = replace(options, batch_size=batch_size)
    stop = threading.Event()
    on_stop_signals(stop.set)
    return run_worker(engine=wiring.engine, options=options, stop=stop)


class SingleNode:
    """`okr-jira run`: the receiver, the inbox worker and the scheduler in one process."""

    def __init__(self, wiring: Wiring, *, host: str, port: int) -> None:
        from werkzeug.serving import make_server

        from webhooks import create_app
        from webhooks.serve import RedactingHandler

        self.wiring = wiring
        self.stop_event = threading.Event()
        app = create_app(wiring.settings, wiring=wiring)
        self.server = make_server(host, port, app, threaded=True, request_handler=RedactingHandler)
        self.port = self.server.server_port
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
        self.server.shutdown()  # returns once serve_forever has stopped accepting
        self.stop_event.set()
        for t in self._threads:
            t.join(timeout=timeout / 2)
            if t.is_alive():
                log.warning("process.thread_still_running", extra={"thread": t.name})
        self.scheduler.shutdown(wait=False)
        self.server.server_close()
        self.leadership.release()

    def serve_until_signal(self) -> None:
        done = threading.Event()
        on_stop_signals(done.set)
        done.wait()
        self.stop()
