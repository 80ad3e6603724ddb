"""Long-running processes: the scheduler, and the single-node `run` (receiver + worker + scheduler).

Both stop cleanly on SIGTERM/SIGINT: stop accepting, finish the event in hand, exit within 10 s.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from okr_jira import jobs
from okr_jira.leader import Leadership
from okr_jira.scheduler import build_scheduler
from okr_jira.settings import Settings

log = logging.getLogger(__name__)


def on_stop_signals(callback: Callable[[], None]) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("process.stopping", extra={"signal": signum})
        callback()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_scheduler(settings: Settings, engine: Engine, *, election_seconds: float = 5.0) -> None:
    """`okr-jira scheduler`: blocks; leads when it holds the leadership, follows otherwise."""
    services = jobs.Services(settings=settings, engine=engine)
    leadership = Leadership(engine, lease_seconds=max(30.0, 3 * election_seconds))
    leadership.try_acquire()  # on SQLite a second scheduler stops here, saying why
    scheduler = BlockingScheduler(timezone="UTC")
    build_scheduler(scheduler, services, leadership, election_seconds=election_seconds)
    on_stop_signals(lambda: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    finally:
        leadership.release()


class SingleNode:
    """`okr-jira run`: the receiver, the inbox worker and the scheduler in one process."""

    def __init__(self, settings: Settings, engine: Engine, *, host: str, port: int) -> None:
        from werkzeug.serving import make_server

        from webhooks import create_app
        from webhooks.serve import RedactingHandler

        self.settings, self.engine = settings, engine
        self.stop_event = threading.Event()
        app = create_app(settings, engine=engine)
        self.server = make_server(host, port, app, threaded=True, request_handler=RedactingHandler)
        self.port = self.server.server_port
        self.services = jobs.Services(settings=settings, engine=engine)
        self.leadership = Leadership(engine)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._threads: list[threading.Thread] = []

    def start(self) -> SingleNode:
        from okr_jira.inbox import run_worker

        self.leadership.try_acquire()
        build_scheduler(self.scheduler, self.services, self.leadership, include_inbox=False)
        self.scheduler.start()
        self._threads = [
            threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True),
            threading.Thread(
                target=run_worker,
                kwargs={"engine": self.engine, "stop": self.stop_event},
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
        self.scheduler.shutdown(wait=False)
        self.server.server_close()
        self.leadership.release()

    def serve_until_signal(self) -> None:
        done = threading.Event()
        on_stop_signals(done.set)
        done.wait()
        self.stop()
