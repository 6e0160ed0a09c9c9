"""Keep Cluster rows in step with clusters.yaml."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction

from clusters.config import ClusterEntry, ConfigFileError, load_entries
from clusters.kube import ClusterSpec
from clusters.models import Cluster
from clusters.store.version import bump

log = logging.getLogger(__name__)


@transaction.atomic
def sync_clusters(path: str | None = None) -> list[Cluster]:
    """Create or update a Cluster per entry; entries that disappeared are disabled, not deleted,
    so their history stays readable. Raises ConfigFileError when the file is unusable."""
    path = path or settings.TIDEWATCH_CLUSTERS
    entries = load_entries(path, settings.TIDEWATCH_DEFAULT_POLL_INTERVAL)
    names = {entry.spec.name for entry in entries}
    written = [_upsert_or_report(entry) for entry in entries]
    result = [cluster for cluster, _ in written if cluster is not None]
    removed = Cluster.objects.filter(enabled=True).exclude(name__in=names)
    for cluster in removed:
        log.warning("cluster %s is no longer in %s: polling stops, its data is kept", cluster, path)
    gone = removed.update(enabled=False, config_error=f"removed from {path}")
    # The poller and watcher call this every few seconds: bumping on every call would wake
    # every open page (a fingerprint each) for a file that did not change.
    if gone or any(changed for _, changed in written):
        bump()  # open pages show the cluster cards (removed, broken entries)
    return result


def sync_clusters_or_go_on(path: str | None, going_on: str) -> None:
    """sync_clusters for a loop that must not die of it (the in-process poller and watcher): a
    bad file or a database hiccup is logged, and the loop goes on with the clusters it knows
    (``going_on`` says how, e.g. "polling")."""
    try:
        sync_clusters(path)
    except ConfigFileError as exc:
        log.error("%s", exc)
    except Exception:
        log.exception("cannot sync the cluster file; %s the clusters already known", going_on)


def _upsert_or_report(entry: ClusterEntry) -> tuple[Cluster | None, bool]:
    """Write one entry in its own savepoint: a value the database refuses (PostgreSQL checks
    lengths and ranges the parser may not know of) breaks that entry only, never the others.
    Also says whether the row was created or changed."""
    try:
        with transaction.atomic():
            return _upsert(entry)
    except DatabaseError as exc:
        error = f"the database refused this entry: {type(exc).__name__}: {exc}".strip()[:2000]
        log.error("cluster %s: %s", entry.spec.name[:100], error)
    broken = ClusterEntry(
        ClusterSpec(name=entry.spec.name), settings.TIDEWATCH_DEFAULT_POLL_INTERVAL, error
    )
    try:
        with transaction.atomic():
            return _upsert(broken)
    except DatabaseError:
        log.exception("cluster %s: cannot even record it as broken", entry.spec.name[:100])
        return None, False


def _upsert(entry: ClusterEntry) -> tuple[Cluster, bool]:
    error = entry.error
    defaults: dict[str, object] = {
        "kubeconfig": entry.spec.kubeconfig,
        "context": entry.spec.context,
        "in_cluster": entry.spec.in_cluster,
        "poll_interval": entry.poll_interval,
        "enabled": True,
    }
    defaults["boundaries_file"] = entry.ownership
    # Where argocd-server and its token are, never the token (clusters/argocd_server/settings.py).
    defaults["argocd"] = entry.argocd.as_dict() if entry.argocd is not None else {}
    defaults["boundaries_file_error"] = ""
    if entry.ownership:
        # The file wins over admin edits: what is in git is what is declared. A broken file does
        # not stop polling: the analysis falls back to the default and the pages say why.
        try:
            defaults["boundaries"] = Path(entry.ownership).expanduser().read_text()
        except OSError as exc:
            defaults["boundaries_file_error"] = f"cannot read {entry.ownership}: {exc}"
            log.error("cluster %s: ownership boundaries: %s", entry.spec.name, exc)
    if error:
        log.error("cluster %s: %s", entry.spec.name, error)
    defaults["config_error"] = error
    cluster = Cluster.objects.filter(name=entry.spec.name).first()
    if cluster is None:
        return Cluster.objects.create(name=entry.spec.name, **defaults), True
    changed = [field for field, value in defaults.items() if getattr(cluster, field) != value]
    if changed:
        for field in changed:
            setattr(cluster, field, defaults[field])
        cluster.save(update_fields=changed)
    return cluster, bool(changed)


def spec_of(cluster: Cluster) -> ClusterSpec:
    return ClusterSpec(
        name=cluster.name,
        kubeconfig=cluster.kubeconfig,
        context=cluster.context,
        in_cluster=cluster.in_cluster,
    )


__all__ = ["ConfigFileError", "spec_of", "sync_clusters", "sync_clusters_or_go_on"]
