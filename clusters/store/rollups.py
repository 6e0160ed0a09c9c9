"""Namespace roll-ups: what each overview row shows, derived from the store once per poll.

A namespace's objects are the GitOps objects that live in it (home) or deploy into it
(target). "Deployed by" counts targets only: Big Bang's HelmReleases live in ``bigbang`` but
deploy into istio-system, monitoring ...; Argo CD's Applications live in ``argocd``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from clusters.attention import namespace_attention
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    Namespace,
    NamespaceRollup,
    ObjectTarget,
)
from clusters.status.vocabulary import STATUS_ORDER, Status, Sync, worst_sync
from clusters.store.ownership import namespace_ownership
from clusters.store.version import bump


@dataclass
class _Row:
    exists: bool = False
    objects: set[int] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)


def rebuild_rollups(cluster: Cluster) -> int:
    """Recompute every namespace row of a cluster; write only rows that changed."""
    objects = {
        row["id"]: row
        for row in GitOpsObject.objects.filter(cluster=cluster).values(
            "id",
            "tool",
            "group",
            "kind",
            "namespace",
            "name",
            "status",
            "status_rank",
            "sync",
            "reason",
            "message",
        )
    }
    rows: dict[str, _Row] = defaultdict(_Row)
    for name in Namespace.objects.filter(cluster=cluster).values_list("name", flat=True):
        rows[name].exists = True
    for obj_id, obj in objects.items():
        rows[obj["namespace"]].objects.add(obj_id)
    for obj_id, namespace in ObjectTarget.objects.filter(cluster=cluster).values_list(
        "obj_id", "namespace"
    ):
        rows[namespace].objects.add(obj_id)
        rows[namespace].tools.add(objects[obj_id]["tool"])

    stale = _stale_reasons_by_kind(cluster)
    owners = namespace_ownership(cluster)
    for name in owners:
        rows.setdefault(name, _Row())  # a namespace only claims reach still gets a row
    wanted = {name: _rollup(cluster, name, row, objects, stale) for name, row in rows.items()}
    for name, rollup in wanted.items():
        owner = owners.get(name, {})
        rollup.declared_owner = owner.get("declared_owner", "")
        rollup.ownership = owner.get("summary", "")
        rollup.violation_codes = owner.get("codes", [])
        # A namespace whose only problem is an ownership violation needs attention too.
        verdict = namespace_attention(rollup.status, rollup.headline, owner.get("violations", []))
        rollup.attention_rank, rollup.attention = verdict.rank, verdict.tone
        rollup.headline = verdict.headline[:1000]
    return _write(cluster, wanted)


def _rollup(
    cluster: Cluster,
    namespace: str,
    row: _Row,
    objects: dict[int, dict[str, Any]],
    stale: dict[tuple[str, str], str],
) -> NamespaceRollup:
    members = [objects[i] for i in row.objects]
    status_counts = Counter(obj["status"] for obj in members)
    sync_counts = Counter(obj["sync"] for obj in members)
    worst = min(members, key=_severity, default=None)
    headline, headline_object = "", ""
    if worst is not None and _severity(worst) < _FINE:
        headline_object = f"{worst['kind']}/{worst['namespace']}/{worst['name']}"
        state = worst["status"] if worst["status"] != Status.HEALTHY else worst["sync"]
        what = worst["message"] or worst["reason"] or state
        headline = f"{worst['kind']} {worst['namespace']}/{worst['name']} is {state}: {what}"
    # One line per distinct failure, naming every kind it hides: an unreachable cluster makes
    # every kind fail with the same sentence, which must not repeat once per kind.
    failing: dict[str, set[str]] = defaultdict(set)
    for obj in members:
        reason = stale.get((obj["group"], obj["kind"]))
        if reason:
            failing[reason].add(obj["kind"])
    reasons = sorted(f"{', '.join(sorted(kinds))}: {why}" for why, kinds in failing.items())
    return NamespaceRollup(
        cluster=cluster,
        namespace=namespace,
        exists=row.exists,
        deployed_by=sorted(row.tools),
        status=worst["status"] if worst else "",
        status_rank=min(o["status_rank"] for o in members) if members else len(STATUS_ORDER),
        sync=(worst_sync(sync_counts) or "") if members else "",
        status_counts=dict(sorted(status_counts.items())),
        sync_counts=dict(sorted(sync_counts.items())),
        object_count=len(members),
        headline=headline[:1000],
        headline_object=headline_object,
        stale_reasons=reasons,
    )


# Sort key: status first, then sync, so a Healthy-but-OutOfSync object still gets a headline.
_SYNC_RANK = {Sync.OUT_OF_SYNC: 0, Sync.UNKNOWN: 1}
_FINE = (STATUS_ORDER.index(Status.HEALTHY), 2)


def _severity(obj: dict[str, Any]) -> tuple[int, int]:
    return (obj["status_rank"], _SYNC_RANK.get(obj["sync"], 2))


def _stale_reasons_by_kind(cluster: Cluster) -> dict[tuple[str, str], str]:
    return {
        (state.group, state.kind): f"{state.reason} — {state.error}"
        for state in KindState.objects.filter(cluster=cluster, state=KindState.ERROR)
    }


_COMPARED = (
    "exists",
    "deployed_by",
    "status",
    "status_rank",
    "sync",
    "status_counts",
    "sync_counts",
    "object_count",
    "headline",
    "headline_object",
    "stale_reasons",
    "declared_owner",
    "ownership",
    "violation_codes",
    "attention_rank",
    "attention",
)


@transaction.atomic
def _write(cluster: Cluster, wanted: dict[str, NamespaceRollup]) -> int:
    current = {r.namespace: r for r in NamespaceRollup.objects.filter(cluster=cluster)}
    NamespaceRollup.objects.filter(cluster=cluster).exclude(namespace__in=wanted).delete()
    create, update = [], []
    now = timezone.now()
    for name, rollup in wanted.items():
        existing = current.get(name)
        rollup.updated_at = now
        if existing is None:
            create.append(rollup)
        elif any(getattr(existing, f) != getattr(rollup, f) for f in _COMPARED):
            rollup.id = existing.id
            update.append(rollup)
    NamespaceRollup.objects.bulk_create(create)
    NamespaceRollup.objects.bulk_update(update, [*_COMPARED, "updated_at"])
    bump()
    return len(create) + len(update)
