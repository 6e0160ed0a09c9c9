"""Page bounds (issue 10): size and time of the pages of one giant object.

    .venv/bin/python bench/giant_pages.py [--n 10000] [--repeat 3]

One demo cluster (in-process, over HTTP) where Kustomization flux-system/infrastructure has
``n`` conditions and ``n`` inventory entries, and Application argocd/data-platform ``n``
resources and ``n`` sync results claiming the same ConfigMaps (so /ownership holds ``n``
contested resources and ``n`` violations). It is polled once into a fresh SQLite file, then
each page is fetched through Django's test Client: bytes, best time of ``repeat``, SQL
statements. With the page bounds (docs/reliability.md "Page bounds") the bytes and statements
do not grow with ``n``. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
ARGO = "argoproj.io"
TOKEN = "bench-token"


def setup(here: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "bench-only",
            "DATABASE_URL": f"sqlite:///{here / 'bench.sqlite3'}",
            "TIDEWATCH_VAR_DIR": str(here),
            "TIDEWATCH_ANONYMOUS_READ": "true",
            "ALLOWED_HOSTS": "testserver,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "TIDEWATCH_USE_CELERY": "false",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def grow(demo, n: int) -> None:
    from clusters.demo.scenario import inventory_id

    names = [f"cm-{i:06d}" for i in range(n)]
    checks = [
        {
            "type": f"Check{i:06d}",
            "status": "True",
            "reason": "Fine",
            "message": f"check {i} " + "x" * 200,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
        for i in range(n)
    ]
    kustomization = demo.get(KUSTOMIZE, "kustomizations", "flux-system", "infrastructure")
    entries = [
        {"id": inventory_id("data-platform", name, "", "ConfigMap"), "v": "v1"} for name in names
    ]
    demo.patch_status(
        KUSTOMIZE,
        "kustomizations",
        "flux-system",
        "infrastructure",
        {
            "conditions": kustomization["status"]["conditions"] + checks,
            "inventory": {"entries": entries},
        },
    )
    app = demo.get(ARGO, "applications", "argocd", "data-platform")
    resources = [
        {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "data-platform"}
        | {"name": name, "status": "Synced"}
        for name in names
    ]
    state = app["status"]["operationState"]
    state["syncResult"]["resources"] = [
        {**r, "message": f"configmap/{r['name']} unchanged", "syncPhase": "Sync"} for r in resources
    ]
    demo.patch_status(
        ARGO,
        "applications",
        "argocd",
        "data-platform",
        {"resources": resources, "operationState": state},
    )


def measure(url: str, repeat: int) -> tuple[int, float, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    best = float("inf")
    size = statements = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            best = min(best, time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size, statements = len(response.content), len(queries.captured_queries)
    return size, best, statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tidewatch-giant-") as tmp:
        here = Path(tmp)
        setup(here)
        import yaml

        from clusters.demo.kubeconfig import write_kubeconfig
        from clusters.demo.server import DemoCluster

        demo = DemoCluster(token=TOKEN)
        demo.start(port=0)
        try:
            kubeconfig = write_kubeconfig(here / "kubeconfig.yaml", demo.url, TOKEN)
            clusters = here / "clusters.yaml"
            entry = {"name": "demo", "kubeconfig": str(kubeconfig), "context": "demo"}
            clusters.write_text(yaml.safe_dump({"clusters": [entry]}))
            from django.conf import settings

            settings.TIDEWATCH_CLUSTERS = str(clusters)
            from clusters.poll import poll_cluster
            from clusters.registry import sync_clusters

            (cluster,) = sync_clusters()
            grow(demo, args.n)
            started = time.perf_counter()
            poll_cluster(cluster)
            print(f"n = {args.n:,}: polled in {time.perf_counter() - started:.1f} s")
            rows, raw = settings.TIDEWATCH_PAGE_ROWS, settings.TIDEWATCH_PAGE_RAW_BYTES
            print(f"caps: {rows} rows per list, raw YAML up to {raw:,} bytes")
            print(f"| page | bytes | best of {args.repeat} | SQL |\n|---|---:|---:|---:|")
            for url in (
                "/o/demo/Kustomization/flux-system/infrastructure",
                "/o/demo/Application/argocd/data-platform",
                "/o/demo/Application/argocd/data-platform?results_page=3",
                "/ownership",
            ):
                size, seconds, statements = measure(url, args.repeat)
                print(f"| `{url}` | {size:,} | {seconds:.3f} s | {statements} |")
        finally:
            demo.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
