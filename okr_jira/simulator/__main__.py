"""python -m okr_jira.simulator: run one simulated site until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from okr_jira.simulator.datagen import SIZES, generate
from okr_jira.simulator.faults import Faults
from okr_jira.simulator.server import SimulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m okr_jira.simulator")
    parser.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--issues", type=int, default=None, help="a lazy site of this many issues (like huge)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--with-confluence", action="store_true")
    args = parser.parse_args(argv)

    jira = generate(args.size, seed=args.seed, flavor=args.flavor, count=args.issues)
    confluence = None
    if args.with_confluence:
        from okr_jira.simulator.confluence import ConfluenceSim

        confluence = ConfluenceSim(cloud=args.flavor == "cloud")
    server = SimulatorServer(
        args.flavor,
        jira=jira,
        confluence=confluence,
        host=args.host,
        port=args.port,
        faults=Faults(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms),
    )
    creds = server.credentials
    print(f"url={server.url}", flush=True)
    print(f"flavor={args.flavor} size={args.size} issues={len(jira.issues)}")
    if args.flavor == "cloud":
        print(f"email={creds.email} api_token={creds.api_token}")
    else:
        print(f"pat={creds.pat} username={creds.username} password={creds.password}")
    print("control: GET /_sim/stats, POST /_sim/faults, POST|PUT|DELETE /_sim/issues", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server, contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    main()
