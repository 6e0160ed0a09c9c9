"""Run the demo cluster.

    python -m clusters.demo --port 8001 --kubeconfig var/demo-kubeconfig.yaml [--host 127.0.0.1]
        [--tls] [--timeline [--step-seconds 15]] [--controllers [--react-seconds 2]]

Serves the ADR-003 platform scenario until SIGINT/SIGTERM and writes a kubeconfig (context
``demo``) that the dashboard, kubectl and the ``kubernetes`` client can use unchanged.

``--timeline`` plays the scripted episodes of ``clusters.demo.timeline`` (failures that heal, one
step every ``--step-seconds``) so whatever polls the cluster sees it move; each step is logged.

``--controllers`` runs ``clusters.demo.controllers``: reconcile / suspend / refresh / sync
requests written to the cluster get the controllers' answer, one phase every ``--react-seconds``.

``--tls`` makes a fresh throwaway PKI in ``demo-pki/`` next to the kubeconfig and serves HTTPS;
the kubeconfig then trusts that CA. The PKI's client certificate (CN=tidewatch) is accepted in
place of the token.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from clusters.demo.controllers import DEFAULT_TICK_SECONDS, Controllers
from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.scale import build_scaled_platform
from clusters.demo.server import DemoCluster, TlsConfig
from clusters.demo.timeline import DEFAULT_STEP_SECONDS, Timeline, positive_seconds
from clusters.demo.tls import PkiError, make_test_pki


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
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help="serve a generated platform of N GitOps objects instead of the ADR-003 scenario",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a throwaway CA made in demo-pki/ next to the kubeconfig",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="play scripted failures that heal (HelmRelease, Application, Kustomization, source)",
    )
    parser.add_argument(
        "--step-seconds",
        type=positive_seconds,
        default=DEFAULT_STEP_SECONDS,
        help=f"seconds between timeline steps (default {DEFAULT_STEP_SECONDS:g})",
    )
    parser.add_argument(
        "--controllers",
        action="store_true",
        help="answer reconcile, suspend, refresh and sync requests as the controllers do",
    )
    parser.add_argument(
        "--react-seconds",
        type=positive_seconds,
        default=DEFAULT_TICK_SECONDS,
        help=f"seconds between phases of a reaction (default {DEFAULT_TICK_SECONDS:g})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cluster = DemoCluster(
        objects=build_scaled_platform(args.scale) if args.scale > 0 else None,
        token=args.token,
        kinds_not_installed=args.not_installed,
        log_requests=args.log_requests or None,
    )
    tls, ca_cert = None, None
    if args.tls:
        try:
            pki = make_test_pki(Path(args.kubeconfig).parent / "demo-pki")
        except (PkiError, OSError) as exc:
            print(f"demo cluster: cannot make TLS certificates: {exc}", file=sys.stderr)
            return 1
        tls = TlsConfig(cert=pki.server_cert, key=pki.server_key, client_ca=pki.ca_cert)
        ca_cert = pki.ca_cert
    try:
        url = cluster.start(host=args.host, port=args.port, tls=tls)
    except OSError as exc:
        print(f"demo cluster: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    path = write_kubeconfig(args.kubeconfig, url, args.token, context=args.context, ca_cert=ca_cert)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"demo cluster serving {url} (kubeconfig {path}, context {args.context})", flush=True)
    timeline, controllers = None, None
    lock = threading.Lock()
    if args.timeline or args.controllers:
        # Both report through logging; nothing else configures it here.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.controllers:
        controllers = Controllers(cluster, tick_seconds=args.react_seconds, lock=lock)
        controllers.start()
        print(f"demo controllers: one phase every {args.react_seconds:g}s", flush=True)
    if args.timeline:
        timeline = Timeline(cluster, step_seconds=args.step_seconds, lock=lock)
        timeline.start()
        print(f"demo timeline: one step every {args.step_seconds:g}s", flush=True)
    try:
        stop.wait()
    finally:
        if timeline is not None:
            timeline.stop()
        if controllers is not None:
            controllers.stop()
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
