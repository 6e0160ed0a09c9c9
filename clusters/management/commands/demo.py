"""`manage.py demo`: demo cluster + in-process watcher + web server, in one foreground process.

No Redis, no real cluster: the demo cluster is a Kubernetes API server on 127.0.0.1 and the
watcher (clusters/watcher.py: list + watch, or polling with TIDEWATCH_SYNC_MODE=poll) reaches
it through the real kubernetes client, exactly as it would reach a real cluster.
Ctrl-C or SIGTERM stops all three.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

import yaml
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application

from clusters.demo.argocd import PREFIX as ARGOCD_PREFIX
from clusters.demo.controllers import DEFAULT_TICK_SECONDS, Controllers
from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.scale import BOUNDARIES as SCALE_BOUNDARIES
from clusters.demo.scale import build_scaled_platform
from clusters.demo.server import DemoCluster
from clusters.demo.timeline import DEFAULT_STEP_SECONDS, Timeline, positive_seconds
from clusters.watcher import run_sync
from dashboard.demo_users import DEMO_PASSWORD, ensure_demo_users

DEMO_TOKEN = "demo-token"
DEMO_ARGOCD_TOKEN = "demo-argocd-token"


class Command(BaseCommand):
    help = "Run Tidewatch on the embedded demo cluster (foreground; Ctrl-C stops everything)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="dashboard port")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--cluster-port", type=int, default=0, help="demo API port (0: any)")
        parser.add_argument("--poll-interval", type=int, default=10)
        parser.add_argument(
            "--scale",
            type=int,
            default=0,
            metavar="N",
            help="a generated platform of N GitOps objects instead of the ADR-003 scenario",
        )
        parser.add_argument(
            "--step-seconds",
            type=positive_seconds,
            default=DEFAULT_STEP_SECONDS,
            help="seconds between steps of the scripted timeline",
        )
        parser.add_argument(
            "--react-seconds",
            type=positive_seconds,
            default=DEFAULT_TICK_SECONDS,
            help="seconds between the phases of the demo controllers' reactions to actions",
        )
        parser.add_argument(
            "--no-timeline",
            action="store_true",
            help="serve the scenario as built, without the scripted failures that heal",
        )

    def handle(self, *args: object, **options: object) -> None:
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        for username, role in ensure_demo_users():
            self.stdout.write(f"demo {role}: sign in as {username} / {DEMO_PASSWORD}")

        scale = int(options["scale"])
        objects = build_scaled_platform(scale) if scale > 0 else None
        cluster = DemoCluster(objects=objects, token=DEMO_TOKEN, argocd_token=DEMO_ARGOCD_TOKEN)
        url = cluster.start(port=int(options["cluster_port"]))
        kubeconfig = write_kubeconfig(var / "demo-kubeconfig.yaml", url, DEMO_TOKEN)
        # The demo argocd-server (clusters/demo/argocd.py) reads its token from a file, as a
        # real install reads the read-only account's token (docs/argocd-server.md).
        argocd_token = var / "demo-argocd-token"
        with os.fdopen(
            os.open(argocd_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w"
        ) as f:
            f.write(DEMO_ARGOCD_TOKEN + "\n")
        clusters_file = var / "demo-clusters.yaml"
        # The generated tenants (platform-*, team-*) are declared, or all would be TW006.
        boundaries = var / "demo-scale-boundaries.yaml"
        boundaries.write_text(SCALE_BOUNDARIES)
        clusters_file.write_text(
            yaml.safe_dump(
                {
                    "clusters": [
                        {
                            "name": "demo",
                            "kubeconfig": str(kubeconfig),
                            "context": "demo",
                            "poll_interval": int(options["poll_interval"]),
                            "argocd": {
                                "url": f"{url}{ARGOCD_PREFIX}",
                                "tokenFile": str(argocd_token),
                            },
                            **({"ownership": str(boundaries)} if scale > 0 else {}),
                        }
                    ]
                }
            )
        )

        stop = threading.Event()
        poller = threading.Thread(
            target=run_sync,
            args=(stop,),
            kwargs={"clusters_file": str(clusters_file)},
            name="sync",
            daemon=True,
        )
        poller.start()
        # The controllers answer actions (reconcile, suspend, sync ...) with the timeline or not;
        # one lock keeps a scripted step and a reaction from interleaving their writes.
        lock = threading.Lock()
        controllers = Controllers(cluster, tick_seconds=float(options["react_seconds"]), lock=lock)
        controllers.start()
        timeline = None
        if not options["no_timeline"]:
            timeline = Timeline(cluster, step_seconds=float(options["step_seconds"]), lock=lock)
            timeline.start()

        def terminate(signum: int, frame: FrameType | None) -> None:
            # Once is enough: a second SIGTERM during the shutdown below must not interrupt it.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, terminate)
        host, port = str(options["host"]), int(options["port"])
        self.stdout.write(f"demo cluster API on {url} (kubeconfig {kubeconfig})")
        self.stdout.write(f"demo argocd-server on {url}{ARGOCD_PREFIX} (token {argocd_token})")
        if timeline is not None:
            self.stdout.write(f"demo timeline: one step every {timeline.step_seconds:g}s")
        self.stdout.write(f"Tidewatch on http://{host}:{port}/  — Ctrl-C to stop", ending="\n")
        self.stdout.flush()
        try:
            run(host, port, StaticFilesHandler(get_wsgi_application()), threading=True)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if timeline is not None:
                timeline.stop()
            controllers.stop()
            poller.join(timeout=10)
            cluster.stop()
            self.stdout.write("stopped")
