"""A Cloud-like host name on loopback: acme.atlassian.net resolves to 127.0.0.1 in tests."""

from __future__ import annotations

import socket
from typing import Any

import pytest

CLOUD_HOST = "acme.atlassian.net"


@pytest.fixture
def cloud_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """acme.atlassian.net resolves to loopback: a Cloud-like host name, nothing leaves the box."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == CLOUD_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
