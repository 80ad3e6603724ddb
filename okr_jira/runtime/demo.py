"""`okr-jira demo`: the whole product on embedded defaults, against the bundled simulator.

An SQLite file, the Jira + Confluence simulator on a free local port, config/okrs.example.yaml:
apply, full sync, publish into the simulator's Confluence and write the HTML preview, start the
webhook receiver and its worker, then move issues through their workflow in the simulated Jira —
each change arrives as a signed webhook — and, each round, print the tree, publish what changed and
rewrite the preview. Work never runs out: done issues are reopened as the teams finish the rest.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from okr_jira.domain.rollup import iter_nodes
from okr_jira.errors import OkrJiraError
from okr_jira.okrs.file import load_okr_file
from okr_jira.okrs.plan import apply_plan, make_plan
from okr_jira.publish import publish_running_cycles, write_preview
from okr_jira.report.evaluate import evaluate_cycle
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import Settings, load_settings
from okr_jira.storage.db import make_engine, session_scope, upgrade
from okr_jira.storage.links import open_links

# The workflow the simulated teams follow; a done issue may come back (reopened) as "To Do".
NEXT_STATUS = {"To Do": "In Progress", "In Progress": "In Review", "In Review": "Done"}
REOPENED = "To Do"


@dataclass
class DemoPaths:
    database: Path
    preview: Path
    okr_file: Path


def default_okr_file() -> Path:
    here = Path(__file__).resolve().parents[2] / "config" / "okrs.example.yaml"
    if here.exists():
        return here
    return Path.cwd() / "config" / "okrs.example.yaml"


class Demo:
    def __init__(self, paths: DemoPaths, *, echo: Callable[[str], None], seed: int = 7) -> None:
        self.paths = paths
        self.echo = echo
        self.rng = random.Random(seed)
        self.stop = threading.Event()

    def run(
        self, *, once: bool = False, steps: int = 8, pause: float = 2.0, rounds: int | None = None
    ) -> int:
        """Until stopped (Ctrl-C), or `rounds` rounds (`once`: one)."""
        from okr_jira.inbox import run_worker, wait_until_empty
        from okr_jira.runtime.processes import http_server
        from okr_jira.simulator import SimulatorServer, generate
        from okr_jira.simulator.confluence import ConfluenceSim

        if once:
            rounds = 1
        if not self.paths.okr_file.exists():
            raise OkrJiraError(f"{self.paths.okr_file}: the example OKR file is missing")
        for suffix in ("", "-wal", "-shm"):  # a demo starts from a clean slate
            Path(f"{self.paths.database}{suffix}").unlink(missing_ok=True)
        sim = SimulatorServer(
            "cloud", jira=generate("small", flavor="cloud"), confluence=ConfluenceSim(("OKR",))
        ).start()
        engine = make_engine(f"sqlite:///{self.paths.database}")
        receiver = worker = None
        try:
            settings = self._settings(sim)
            wiring = Wiring(settings, engine)
            upgrade(engine)
            self._where_to_look(sim)
            self._apply(engine)
            self.echo("\n".join(wiring.syncer().full().lines()))
            self._publish(wiring, "first publish")
            links = wiring.sync_remote_links()  # the golden thread: each issue links back
            if links is not None:
                self.echo("\n".join(links.lines()))
            receiver = http_server(wiring, host="127.0.0.1", port=0)
            threading.Thread(target=receiver.serve_forever, daemon=True).start()
            worker = threading.Thread(
                target=run_worker,
                kwargs={"engine": engine, "options": wiring.worker_options(), "stop": self.stop},
                daemon=True,
            )
            worker.start()
            hook = f"http://127.0.0.1:{receiver.port}/webhooks/jira"
            sim.jira.webhook_url = hook
            sim.jira.webhook_secret = (
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            )
            self.echo(f"Webhook receiver at {hook} (signed with a secret)")
            self._print_tree(wiring, "after the first sync")
            done = 0
            while not self.stop.is_set():
                moved = self._team_activity(sim, engine, steps)
                sim.jira.flush_webhooks(timeout=10)
                wait_until_empty(engine=engine, timeout=15)
                done += 1
                self.echo(f"\nRound {done}: " + (", ".join(moved) or "nothing to move"))
                self._print_tree(wiring, f"after round {done}")
                # Confluence and the preview follow every round, as the scheduler would.
                self._publish(wiring, f"round {done} publish", brief=True)
                if rounds is not None and done >= rounds:
                    break
                self.stop.wait(pause)
            self.echo(f"\nPreview: {self.paths.preview / 'index.html'}")
            return 0
        finally:
            self.stop.set()
            if worker is not None:
                worker.join(timeout=5)
            if receiver is not None:
                receiver.shutdown()
            sim.stop()
            engine.dispose()

    def _where_to_look(self, sim: object) -> None:
        """Said once, before the output scrolls: where the results show."""
        creds = sim.credentials  # type: ignore[attr-defined]
        self.echo(
            "Where to look (kept up to date every round):\n"
            f"  HTML preview:          {self.paths.preview / 'index.html'}\n"
            f"  Simulated Jira:        {sim.url}  (issues: {sim.url}/browse/KEY)\n"  # type: ignore[attr-defined]
            f"  Simulated Confluence:  {sim.confluence_url}  (space OKR)\n"  # type: ignore[attr-defined]
            f"  Simulator sign-in:     {creds.email} / API token {creds.api_token}\n"
            f"  Database (SQLite):     {self.paths.database}"
        )

    def _settings(self, sim: object) -> Settings:
        creds = sim.credentials  # type: ignore[attr-defined]
        return load_settings(
            None,
            database_url=f"sqlite:///{self.paths.database}",
            jira_url=sim.url,  # type: ignore[attr-defined]
            jira_user=creds.email,
            jira_token=creds.api_token,
            jira_flavor="cloud",
            confluence_url=sim.confluence_url,  # type: ignore[attr-defined]
            confluence_user=creds.email,
            confluence_token=creds.api_token,
            confluence_space="OKR",
            confluence_flavor="cloud",
            # The demo's web app: a fresh signing key per run (sessions end with the demo).
            session_secret=secrets.token_hex(32),
            webhook_secret=secrets.token_hex(16),
            jira_remote_links=True,
            http_max_retries=2,
        )

    def _apply(self, engine: Engine) -> None:
        okrs = load_okr_file(self.paths.okr_file)
        with session_scope(engine) as session:
            plan = make_plan(session, okrs)
            apply_plan(session, plan, actor="demo")
        krs = sum(len(o.key_results) for o in okrs.objectives)
        self.echo(
            f"Applied {self.paths.okr_file.name}: {len(okrs.objectives)} objectives, {krs} KRs"
        )

    def _publish(self, wiring: Wiring, label: str, *, brief: bool = False) -> None:
        """Publish what changed to Confluence, then rewrite the whole preview. `brief`: only
        the page counts (every round says it)."""
        publisher = wiring.publisher()
        for summary in publish_running_cycles(publisher):
            for line in summary.lines():
                if not brief or line.strip().startswith("created "):
                    self.echo(f"{label}: {line.strip()}")
        written = write_preview(publisher.context(None), self.paths.preview)
        self.echo(f"{label}: wrote {len(written)} preview pages to {self.paths.preview}")

    def _team_activity(self, sim: object, engine: Engine, steps: int) -> list[str]:
        """Move up to `steps` in-scope issues one step along the workflow (each sends a webhook).
        Work keeps coming: as open issues run short a few done ones are reopened (and now and
        then one anyway), so every round changes something however long the demo runs."""
        jira = sim.jira  # type: ignore[attr-defined]
        with session_scope(engine) as session:
            linked = sorted({k for ks in open_links(session=session).values() for k in ks})
        status = {k: rec.status for k in linked if (rec := jira.get(k)) is not None}
        open_keys = [k for k, s in status.items() if s in NEXT_STATUS]
        done_keys = [k for k, s in status.items() if s == "Done"]
        moved = []
        for key in self.rng.sample(open_keys, min(steps, len(open_keys))):
            target = NEXT_STATUS[status[key]]
            jira.transition(key, target)
            moved.append(f"{key} -> {target}")
        short = max(steps - len(moved), 0) if len(open_keys) < 2 * steps else 0
        reopen = min(len(done_keys), max(short, int(self.rng.random() < 0.25)))
        for key in self.rng.sample(done_keys, reopen):
            jira.transition(key, REOPENED)
            moved.append(f"{key} reopened")
        return moved

    def _print_tree(self, wiring: Wiring, label: str) -> None:
        with session_scope(wiring.engine) as session:
            report = evaluate_cycle(
                session=session, now=dt.datetime.now(dt.UTC), thresholds=wiring.thresholds
            )
        self.echo(f"\n{report.cycle.name} {label}:")
        for node in iter_nodes(report.nodes):
            depth = _depth(node.objective.key, report)
            status = report.status(node.progress).replace("_", " ")
            self.echo(
                f"{'  ' * depth}{node.objective.key:8} {node.progress:6.1%}  {status:10} "
                f"{node.objective.title}"
            )


def _depth(key: str, report: object) -> int:
    objectives = report.objectives  # type: ignore[attr-defined]
    depth, parent = 0, objectives[key].parent
    while parent in objectives and depth < 50:
        depth, parent = depth + 1, objectives[parent].parent
    return depth
