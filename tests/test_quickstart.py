"""The README's quick start, step by step, as an admin runs it: `okr-jira simulator` in one
process, the README's own command lines (read from README.md, run by bash) in another, then a
change in the simulated Jira reaching `okr-jira tree` through the webhook.

The commands are read from the README, and compared with QUICK_START below first: a README
whose commands change fails here until this test is changed with it. Against the simulator the
test adds only what a second terminal would: `--port 0` to the simulator, and the free port the
simulator printed for OKR_JIRA_PUBLIC_URL given to `okr-jira run` instead of 8080."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.paths import ROOT
from tests.support.service import BIN, wait_until

README = ROOT / "README.md"

QUICK_START = [
    ["okr-jira simulator"],
    ["cp config/okrs.example.yaml okrs.yaml"],
    [  # against your own site: shown, not run here
        "export OKR_JIRA_JIRA_URL=https://acme.atlassian.net "
        "OKR_JIRA_JIRA_USER=okr-bot@acme.example",
        "export OKR_JIRA_JIRA_TOKEN=...",
        "export OKR_JIRA_CONFLUENCE_URL=https://acme.atlassian.net/wiki",
        "export OKR_JIRA_CONFLUENCE_USER=okr-bot@acme.example OKR_JIRA_CONFLUENCE_TOKEN=...",
        'export OKR_JIRA_CONFLUENCE_SPACE=OKR OKR_JIRA_CONFLUENCE_PARENT="OKRs"',
        "export OKR_JIRA_PUBLIC_URL=https://okr.acme.example",
        "export OKR_JIRA_TIME_ZONE=Europe/Paris",
        "export OKR_JIRA_JIRA_REMOTE_LINKS=true",
    ],
    [
        "export OKR_JIRA_DATABASE_URL=sqlite:///okr-jira.db",
        "export OKR_JIRA_WEBHOOK_SECRET=$(openssl rand -hex 24)",
        "export OKR_JIRA_SESSION_SECRET=$(openssl rand -hex 32)",
    ],
    [
        "okr-jira check-config --okrs okrs.yaml",
        "okr-jira db upgrade",
        "okr-jira apply okrs.yaml --dry-run && okr-jira apply okrs.yaml",
        "okr-jira sync --full && okr-jira tree",
        "okr-jira publish --dry-run && okr-jira publish",
        "okr-jira webhooks register",
        "okr-jira webhooks list",
        "okr-jira tokens add ana --role admin",
        "okr-jira run --host 0.0.0.0 --port 8080",
    ],
    [
        'curl -s -X PUT "$OKR_JIRA_JIRA_URL/_sim/issues/SUP-4" -H '
        "'Content-Type: application/json' -d '{\"status\": \"Done\"}'",
        "okr-jira why SUP-4 && okr-jira tree",
    ],
]
UNREGISTER = "okr-jira webhooks unregister"


def quick_start_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]


def readme_blocks() -> list[list[str]]:
    """Each bash block of the quick start: its command lines, without comments."""
    blocks = re.findall(r"```bash\n(.*?)```", quick_start_section(), re.S)
    out = []
    for block in blocks:
        lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
        out.append([line for line in lines if line and not line.startswith("#")])
    return out


def test_the_readme_quick_start_is_the_one_this_test_runs() -> None:
    assert readme_blocks() == QUICK_START
    assert f"`{UNREGISTER}`" in quick_start_section()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def background(
    args: list[str], env: dict[str, str], cwd: Path, logs: Path, ready: str
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A long-running command (output to a file, never an unread pipe) until `ready` shows in
    its output; SIGTERM at the end, and it must stop cleanly."""
    out = logs / f"{args[1]}.log"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, text=True
        )
    try:
        wait_until(lambda: ready in out.read_text() or proc.poll() is not None, 60, ready)
        assert proc.poll() is None, out.read_text()[-3000:]
        yield proc, out
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, out.read_text()[-3000:]
    except BaseException:
        print(f"--- {' '.join(args[:2])} printed:\n{out.read_text()[-4000:]}")
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def bash(line: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def exported(lines: list[str], env: dict[str, str], cwd: Path) -> dict[str, str]:
    """The environment after bash ran `lines` (the README's `export` lines, as pasted)."""
    dump = bash("\n".join([*lines, "env -0"]), env, cwd)
    return dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)


@pytest.mark.skipif(not Path("/usr/bin/openssl").exists(), reason="the README uses openssl")
@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_the_quick_start_works_step_by_step_against_okr_jira_simulator(
    tmp_path: Path, flavor: str
) -> None:
    simulator, copy, _your_site, secrets, start, watch = QUICK_START
    work = tmp_path / "admin"
    work.mkdir()
    (work / "config").symlink_to(ROOT / "config")  # "from this folder", without writing to it
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_JIRA_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    port = free_port()
    args = [*simulator[0].split(), "--port", "0", "--okr-jira-port", str(port)]
    if flavor == "datacenter":  # the README's option for a Data Center site
        args += ["--flavor", "datacenter"]
    with background(args, env, work, tmp_path, "Ctrl-C stops") as (_, sim_log):
        printed = sim_log.read_text()
        assert re.search(r"Jira: +http://127\.0\.0\.1:\d+\n", printed)
        wiki = "/wiki" if flavor == "cloud" else ""
        assert re.search(rf"Confluence: +http://127\.0\.0\.1:\d+{wiki} ", printed)
        login = "API token sim-api-token" if flavor == "cloud" else "sim-personal-access-token"
        assert login in printed
        pasted = [line for line in printed.splitlines() if line.startswith("export OKR_JIRA_")]
        env = exported(pasted + secrets, env, work)
        assert env["OKR_JIRA_PUBLIC_URL"] == f"http://127.0.0.1:{port}"
        browse = requests.get(f"{env['OKR_JIRA_JIRA_URL']}/browse/SUP-4", timeout=5)
        assert browse.ok and "SUP-4" in browse.text

        bash(copy[0], env, work)
        outputs: dict[str, str] = {}
        *steps, run = start
        for line in steps:
            outputs[line] = bash(line, env, work)
        assert "Configuration is fine." in outputs[start[0]]
        assert "SUP-1.1" in outputs["okr-jira sync --full && okr-jira tree"]
        assert "created" in outputs["okr-jira publish --dry-run && okr-jira publish"]
        assert "registered" in outputs["okr-jira webhooks register"]
        listed = outputs["okr-jira webhooks list"]
        assert f"http://127.0.0.1:{port}/webhooks/jira" in listed
        assert 'project in ("MOB", "PLAT", "SELF", "SUP")' in listed
        assert "(3/15 done" in outputs["okr-jira sync --full && okr-jira tree"]

        run_args = run.replace("--port 8080", f"--port {port}").split()
        with background(run_args, env, work, tmp_path, f":{port}"):
            wait_until(
                lambda: requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok, 30, "ready"
            )
            config = bash("okr-jira check-config", env, work)
            assert "OK   jira webhook: admin webhook" in config
            bash(watch[0], env, work)
            deadline = time.monotonic() + 30
            tree = ""
            while time.monotonic() < deadline and "(4/15 done" not in tree:
                tree = bash(watch[1], env, work)
                time.sleep(0.5)
            assert "SUP-1.1" in tree and "(4/15 done" in tree, tree

        removed = bash(UNREGISTER, env, work)
        assert "removed admin webhook" in removed
        assert "No okr-jira webhook" in bash("okr-jira webhooks list", env, work)
