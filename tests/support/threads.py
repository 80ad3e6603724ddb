"""Test threads: a join that times out fails the test, and a WSGI app served in a thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def join_all(threads: Iterable[threading.Thread], timeout: float) -> None:
    """Join every thread within `timeout` seconds in all; fail naming any still running."""
    deadline = time.monotonic() + timeout
    items = list(threads)
    for thread in items:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in items if t.is_alive()]
    assert not stuck, f"threads still running after {timeout} s: {stuck}"


@contextlib.contextmanager
def serving(app: WSGIApplication) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yields its base URL, then stops it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        join_all([thread], 5)
        server.server_close()
