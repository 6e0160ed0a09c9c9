"""An in-process poll loop for `make demo` and small installs: no Redis, no Celery."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connections

from clusters.argocd_server.refresh import refresh_quietly
from clusters.poll import due_clusters, poll_cluster
from clusters.registry import sync_clusters_or_go_on

log = logging.getLogger(__name__)


def run_poller(
    stop: threading.Event, *, tick: float = 1.0, clusters_file: str | None = None
) -> None:
    """Poll every due cluster until ``stop`` is set. Never dies on a poll error, and a cluster
    that hits a poll bound (clusters/kube.py Limits) ends its poll, so the next one is polled."""
    try:
        while not stop.is_set():
            sync_clusters_or_go_on(clusters_file, "polling")
            for cluster in due_clusters():
                if stop.is_set():
                    break
                try:
                    poll_cluster(cluster)
                except Exception:  # the loop must survive anything one poll does
                    log.exception("poll of %s failed unexpectedly", cluster.name)
                    continue
                # After the store step: the Applications' new resourceVersions are in.
                refresh_quietly(cluster)
            close_old_connections()
            stop.wait(tick)
    finally:
        connections.close_all()  # this thread's connections: nobody else can close them
