"""The first sync's stages one at a time, in one thread, with no profiler: what each costs alone.

    .venv/bin/python -m bench.first_sync_stages --n 20000

Starts the demo API server (``bench.apiserver``), fetches every GitOps kind's pages as bytes
(plain ``http.client``, as bench/floor.py), stops the server, then times on this process:
parsing the pages (orjson), dropping managedFields, normalising every object, and writing
every kind through ``WatchedKind.apply`` as a watch's first list does (normalising included
again: the store's own part is the difference). A fresh SQLite file. Compare with
``bench/first_sync.py``, where the same work runs as the worker runs it (threads, GIL, the
server on the other core): the gap between the two is what running together costs.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_sync_stages")
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    here = Path(tempfile.mkdtemp(prefix="tidewatch-stages-"))
    sys.path.insert(0, str(ROOT))
    from bench.first_sync import bench_env

    os.environ.update(bench_env(here), DATABASE_URL=f"sqlite:///{here / 'db.sqlite3'}")
    import orjson

    from bench.floor import ListCall, Lister, served_kinds
    from bench.run import ApiServer, write_cluster_files
    from clusters.collect.snapshot import GITOPS_KINDS

    with (here / "apiserver.log").open("w") as log:
        api = ApiServer(args.n, 0, dict(os.environ), log)
        try:
            kubeconfig = write_cluster_files(here, api.ready["url"], api.ready["token"], "scale")
            served = served_kinds(str(kubeconfig))
            lister = Lister(api.ready["url"], api.ready["token"])
            pages = {
                spec: [body for body, _ in lister.pages(ListCall(served[spec].list_path()))]
                for spec in GITOPS_KINDS
                if spec in served
            }
            lister.close()
        finally:
            api.stop()
    size = sum(len(b) for bodies in pages.values() for b in bodies) / 2**20
    gc.disable()  # as the first lists run (clusters/sync.py)
    rows: list[tuple[str, float]] = []

    def timed(label: str, started: float) -> None:
        rows.append((label, time.perf_counter() - started))

    started = time.perf_counter()
    items = {
        spec: [item for body in bodies for item in orjson.loads(body)["items"]]
        for spec, bodies in pages.items()
    }
    timed("parse the pages (orjson)", started)
    from clusters.collect.watch import LISTED, WatchEvent, _drop_managed_fields, resource_version_of

    started = time.perf_counter()
    for listed in items.values():
        _drop_managed_fields(listed)
    timed("drop managedFields", started)

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    from clusters.models import Cluster
    from clusters.registry import sync_clusters
    from clusters.status.normalize import normalize
    from clusters.store.objects import WatchedKind

    started = time.perf_counter()
    for listed in items.values():
        for item in listed:
            normalize(item)
    timed("normalise", started)
    sync_clusters()
    cluster = Cluster.objects.get(name="scale")
    started = time.perf_counter()
    for spec, listed in items.items():
        kind = WatchedKind(cluster, spec, served[spec].version)
        events = [WatchEvent(LISTED, item, resource_version_of(item)) for item in listed]
        for start in range(0, len(events), 500):
            kind.apply(events[start : start + 500], timezone.now())
    timed("store (normalising again included)", started)
    total = sum(len(listed) for listed in items.values())
    print(f"\n{total} GitOps objects, {size:.0f} MiB of pages\n")
    print("| stage | seconds |")
    print("|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
