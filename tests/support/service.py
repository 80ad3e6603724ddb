"""The service as users run it: `okr-jira` commands and `okr-jira run` as real subprocesses
against a simulated site over real HTTP. Nothing of okr-jira's own is mocked."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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
    """An `okr-jira run` process and where it listens. Its output goes to files, never to pipes
    nobody reads: a busy process logging more than a pipe holds would block on its next line."""

    proc: subprocess.Popen[str]
    url: str
    stdout: Path
    stderr: Path

    def stop(self, timeout: float = 10) -> tuple[str, str]:
        """SIGTERM, and what it printed."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        return self.output()

    def output(self) -> tuple[str, str]:
        return (
            self.stdout.read_text(encoding="utf-8", errors="replace"),
            self.stderr.read_text(encoding="utf-8", errors="replace"),
        )


@contextmanager
def running(env: dict[str, str], *args: str) -> Iterator[Running]:
    """`okr-jira run --port 0` until the block ends (killed if it did not stop by then); when
    the block fails, the end of what the process logged is printed with the failure."""
    logs = Path(tempfile.mkdtemp(prefix="okr-jira-run-"))
    out_path, err_path = logs / "stdout.log", logs / "stderr.log"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(BIN / "okr-jira"), "run", "--port", "0", *args], env=env, cwd=ROOT,
            stdout=out, stderr=err, text=True,
        )  # fmt: skip
    node = Running(proc, "", out_path, err_path)
    try:
        found = None
        deadline = time.monotonic() + 60
        while found is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"http://[\d.]+:(\d+)", node.output()[0])
            time.sleep(0.05)
        if found is None:
            proc.kill()
            proc.wait(10)
            raise AssertionError(f"okr-jira run did not start: {node.output()[1][-3000:]}")
        node.url = f"http://127.0.0.1:{found.group(1)}"
        wait_until(lambda: requests.get(f"{node.url}/readyz", timeout=2).ok, 15, "run is ready")
        yield node
    except BaseException:
        print(f"--- okr-jira run (pid {proc.pid}) logged, last lines:")
        print(node.output()[1][-6000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(logs, ignore_errors=True)


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
