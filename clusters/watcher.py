"""The in-process watcher for `make demo` and small installs: no Redis, no Celery, no lease.

One thread per enabled cluster runs watch_cluster for as long as the process lives. A cluster
whose watch is not possible (Cluster.sync_mode "poll") is polled every poll_interval instead,
and watch is tried again after TIDEWATCH_RESYNC_SECONDS (RBAC may have changed). A second thread
per cluster reads argocd-server every poll_interval (clusters/argocd_server), apart from the
watch so a slow argocd-server never holds up the Kubernetes objects. With
TIDEWATCH_SYNC_MODE=poll the process runs clusters.poller.run_poller instead.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections

from clusters.argocd_server.refresh import refresh_quietly
from clusters.models import Cluster, GitOpsObject
from clusters.poll import poll_cluster
from clusters.poller import run_poller
from clusters.registry import sync_clusters_or_go_on
from clusters.sync import FAILED, FELL_BACK, watch_cluster

log = logging.getLogger(__name__)


def run_sync(stop: threading.Event, *, clusters_file: str | None = None) -> None:
    """Keep every cluster current until ``stop`` is set, the way TIDEWATCH_SYNC_MODE says."""
    if settings.TIDEWATCH_SYNC_MODE == "poll":
        run_poller(stop, clusters_file=clusters_file)
    else:
        run_watchers(stop, clusters_file=clusters_file)


def run_watchers(
    stop: threading.Event, *, clusters_file: str | None = None, tick: float = 5.0
) -> None:
    """One watcher thread per enabled cluster; clusters added to or removed from the file are
    picked up every ``tick`` seconds."""
    running: dict[str, tuple[threading.Thread, threading.Event]] = {}
    try:
        while not stop.is_set():
            sync_clusters_or_go_on(clusters_file, "watching")
            wanted = set(Cluster.objects.filter(enabled=True).values_list("name", flat=True))
            for name, (thread, own_stop) in list(running.items()):
                if name not in wanted or not thread.is_alive():
                    own_stop.set()
                    if not thread.is_alive():
                        del running[name]
            for name in wanted - set(running):
                own_stop = threading.Event()
                thread = threading.Thread(
                    target=_keep_current,
                    args=(name, own_stop),
                    name=f"watcher-{name}",
                    daemon=True,
                )
                running[name] = (thread, own_stop)
                thread.start()
            close_old_connections()
            stop.wait(tick)
    finally:
        for _, own_stop in running.values():
            own_stop.set()  # the process stops: so does every cluster's watch
        for thread, _ in running.values():
            thread.join(timeout=15)
        connections.close_all()


def _keep_current(name: str, stop: threading.Event) -> None:
    """Watch one cluster until ``stop``; poll it while watch is not possible; never die."""
    poll_until = 0.0  # poll (not watch) until this monotonic time
    # argocd-server is read beside the watch, never in its way; it ends with this thread.
    done = threading.Event()
    argocd = threading.Thread(
        target=_keep_argocd_current, args=(name, done), name=f"argocd-{name}", daemon=True
    )
    argocd.start()
    try:
        while not stop.is_set():
            cluster = Cluster.objects.filter(name=name, enabled=True).first()
            if cluster is None:
                return
            try:
                if time.monotonic() < poll_until:
                    poll_cluster(cluster)
                    stop.wait(cluster.poll_interval)
                    continue
                outcome = watch_cluster(cluster, stop=stop)
            except Exception:  # the loop must survive anything one watch or poll does
                log.exception("watch of %s failed unexpectedly", name)
                stop.wait(cluster.poll_interval)
                continue
            if outcome.ended == FELL_BACK:
                poll_until = time.monotonic() + settings.TIDEWATCH_RESYNC_SECONDS
            elif outcome.ended == FAILED:
                stop.wait(cluster.poll_interval)  # unreachable: ask again in a while
            close_old_connections()
    finally:
        done.set()
        argocd.join(timeout=30)
        connections.close_all()


def _keep_argocd_current(name: str, done: threading.Event) -> None:
    """Read argocd-server for the cluster's changed Applications every poll_interval until
    ``done`` (no request at all when its clusters.yaml entry has no ``argocd:`` block)."""
    try:
        while not done.is_set():
            cluster = Cluster.objects.filter(name=name, enabled=True).first()
            if cluster is None:
                return
            refresh_quietly(cluster)
            # Before the watch's first list there is nothing to read: look again soon.
            listed = GitOpsObject.objects.filter(cluster=cluster).exists()
            close_old_connections()
            done.wait(cluster.poll_interval if listed else 1.0)
    finally:
        connections.close_all()
