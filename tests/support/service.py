"""The service as users run it: `okr-jira` commands and `okr-jira run` as real subprocesses
against a simulated site over real HTTP. Nothing of okr-jira's own is mocked."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from okr_jira.simulator import SimulatorServer
from tests.support.paths import ROOT, SESSION_SECRET

BIN = Path(sys.executable).parent
SECRET = "service-test-secret-0123456789"


def site_env(database_url: str, server: SimulatorServer, **extra: str) -> dict[str, str]:
    """The environment an operator sets for this site: database, Jira, webhook secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    creds = server.credentials
    env |= {
        "OKR_JIRA_DATABASE_URL": database_url,
        "OKR_JIRA_JIRA_URL": server.url,
        "OKR_JIRA_JIRA_FLAVOR": server.flavor,
        "OKR_JIRA_WEBHOOK_SECRET": SECRET,
        "OKR_JIRA_SESSION_SECRET": SESSION_SECRET,
        "OKR_JIRA_INBOX_INTERVAL_SECONDS": "0.2",
    }
    if server.flavor == "cloud":
        env |= {"OKR_JIRA_JIRA_USER": creds.email, "OKR_JIRA_JIRA_TOKEN": creds.api_token}
    else:
        env |= {"OKR_JIRA_JIRA_TOKEN": creds.pat}
    return env | extra


def confluence_env(server: SimulatorServer, space: str = "OKR") -> dict[str, str]:
    """The Confluence settings for the simulator's Confluence (Cloud or Data Center)."""
    creds = server.credentials
    env = {
        "OKR_JIRA_CONFLUENCE_URL": server.confluence_url,
        "OKR_JIRA_CONFLUENCE_FLAVOR": server.flavor,
        "OKR_JIRA_CONFLUENCE_SPACE": space,
    }
    if server.flavor == "cloud":
        return env | {
            "OKR_JIRA_CONFLUENCE_USER": creds.email,
            "OKR_JIRA_CONFLUENCE_TOKEN": creds.api_token,
        }
    return env | {"OKR_JIRA_CONFLUENCE_TOKEN": creds.pat}


def okr_jira(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run one `okr-jira` command to completion; its stdout, or fail with its stderr."""
    done = subprocess.run(
        [str(BIN / "okr-jira"), *args], env=env, capture_output=True, text=True,
        timeout=timeout, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, f"okr-jira {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


@dataclass
class Running:
    """An `okr-jira run` process and where it listens."""

    proc: subprocess.Popen[str]
    url: str

    def stop(self, timeout: float = 10) -> tuple[str, str]:
        """SIGTERM, and what it printed."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=timeout)


@contextmanager
def running(env: dict[str, str], *args: str) -> Iterator[Running]:
    """`okr-jira run --port 0` until the block ends (killed if it did not stop by then)."""
    proc = subprocess.Popen(
        [str(BIN / "okr-jira"), "run", "--port", "0", *args], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://[\d.]+:(\d+)", line)
        if found is None:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"okr-jira run did not start: {line!r} {err[-3000:]}")
        url = f"http://127.0.0.1:{found.group(1)}"
        wait_until(lambda: requests.get(f"{url}/readyz", timeout=2).ok, 15, "run is ready")
        yield Running(proc, url)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def wait_until(check: object, timeout: float, what: str, poll: float = 0.1) -> None:
    """Poll `check()` until it is true; fail saying `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except requests.RequestException:
            pass
        time.sleep(poll)
    raise AssertionError(f"not within {timeout} s: {what}")
