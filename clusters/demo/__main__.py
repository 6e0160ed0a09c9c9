"""Run the demo cluster.

    python -m clusters.demo --port 8001 --kubeconfig var/demo-kubeconfig.yaml [--host 127.0.0.1]

Serves the ADR-003 platform scenario until SIGINT/SIGTERM and writes a kubeconfig (context
``demo``) that the dashboard, kubectl and the ``kubernetes`` client can use unchanged.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m clusters.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--kubeconfig", default="var/demo-kubeconfig.yaml")
    parser.add_argument("--context", default="demo")
    parser.add_argument("--token", default="demo-token")
    parser.add_argument(
        "--not-installed",
        action="append",
        default=[],
        metavar="GROUP[/KIND]",
        help="leave an API group or kind out, as if its CRD were absent (repeatable)",
    )
    parser.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cluster = DemoCluster(
        token=args.token,
        kinds_not_installed=args.not_installed,
        log_requests=args.log_requests or None,
    )
    try:
        url = cluster.start(host=args.host, port=args.port)
    except OSError as exc:
        print(f"demo cluster: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    path = write_kubeconfig(args.kubeconfig, url, args.token, context=args.context)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"demo cluster serving {url} (kubeconfig {path}, context {args.context})", flush=True)
    try:
        stop.wait()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
