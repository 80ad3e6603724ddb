"""The HTTP server `okr-jira run` and `okr-jira serve` embed: waitress, which reads requests on
its event loop and hands only whole requests to its worker threads, so slow or stalled clients
hold no thread; a silent connection is closed after `channel_timeout`.

Waitress has no public way to stop a server running in a thread, so the event loop runs here, one
short turn at a time, and a stop closes the listening socket first, lets requests in flight finish
(up to `grace` seconds), then closes the connections and the worker threads.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

log = logging.getLogger(__name__)


class EmbeddedServer:
    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        max_body_bytes: int,
        channel_timeout: float,
        threads: int = 8,
    ) -> None:
        self._server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="okr-jira",  # the Server header: no version banner
            channel_timeout=channel_timeout,
            cleanup_interval=max(1, int(channel_timeout / 2)),
            connection_limit=1000,
            asyncore_use_poll=True,  # select() stops at 1024 descriptors
            max_request_body_size=max_body_bytes,  # 413 for larger bodies, chunked ones too
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self.port: int = int(self._server.effective_port)
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        server = self._server
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=0.2, map=server._map, use_poll=True, count=1)
            server.accepting = False
            server.del_channel()  # stop accepting; the port is free again
            server.socket.close()
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and self._busy():
                wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
            for channel in list(server._map.values()):
                channel.handle_close()
            server.task_dispatcher.shutdown()
        finally:
            self._stopped.set()

    def _busy(self) -> bool:
        return any(
            getattr(ch, "requests", None) or getattr(ch, "total_outbufs_len", 0)
            for ch in self._server.active_channels.values()
        )

    def shutdown(self, timeout: float = 8.0) -> None:
        """Stop accepting, finish what is in flight, close; returns once the loop has ended."""
        self._stop.set()
        if not self._stopped.wait(timeout):
            log.warning("http.shutdown_timeout", extra={"seconds": timeout})
