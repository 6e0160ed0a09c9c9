"""Run the ownership analysis (clusters.ownership, pure) over what the store holds for a
cluster, and persist the report, the violations and the ADR scorecard.

Runs once per poll, after the store is written, so pages only read the result. A watcher
runs it on a thread of its own (clusters/sync.py): ``analyse_ownership`` only reads, and
``save_ownership`` writes what it computed in one short transaction, so the watcher's applier
(another connection) waits for that write only, never for the analysis.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clusters import ownership as own
from clusters.memory import release_free_memory
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    ManagedResource,
    Monitor,
    Namespace,
    OwnershipReport,
    Violation,
    Workload,
)
from clusters.store.controllers import assess_stored, to_workload
from clusters.store.objects import _json_adapter
from clusters.store.version import bump

log = logging.getLogger(__name__)
SEVERITY_RANK = {name: rank for rank, name in enumerate(Violation.SEVERITIES)}


def cluster_boundaries(cluster: Cluster) -> tuple[own.Boundaries, str]:
    """The cluster's declared boundaries, or the ADR-003 default with the reason it was used."""
    if cluster.boundaries_file_error:
        return own.default_boundaries(), (
            f"{cluster.boundaries_file_error}; using the ADR-003 default boundaries"
        )
    if not cluster.boundaries.strip():
        return own.default_boundaries(), ""
    try:
        return own.load_boundaries(cluster.boundaries, cluster.boundaries_file or "admin"), ""
    except own.BoundaryError as exc:
        return own.default_boundaries(), f"{exc}; using the ADR-003 default boundaries"


@dataclass(frozen=True)
class Analysis:
    """What save_ownership writes: computed from the store, not yet written."""

    data: dict[str, Any]  # _persisted(report)
    scorecard: dict[str, Any]
    boundaries_error: str


def refresh_ownership(cluster: Cluster) -> OwnershipReport:
    """Analyse what the store holds for ``cluster`` and save the result."""
    analysis = analyse_ownership(cluster)
    release_free_memory()  # the analysis's scaffolding is freed: the report's write starts lower
    return save_ownership(cluster, analysis)


def analyse_ownership(cluster: Cluster) -> Analysis:
    """The analysis of what the store holds now: reads only (seconds on a big cluster)."""
    boundaries, error = cluster_boundaries(cluster)
    objects, keys = _objects(cluster)
    workloads = _workloads(cluster)
    # analyse() reads SharedResourceWarnings from the objects' own conditions itself.
    report = own.analyse(
        objects,
        _claims(cluster, keys),
        boundaries=boundaries,
        workloads=workloads,
        namespaces=Namespace.objects.filter(cluster=cluster).values_list("name", flat=True),
        contested_only=True,
        namespace_sample=settings.TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE,
    )
    scorecard = own.build_scorecard(
        report,
        workloads,
        _monitors(cluster),
        monitoring_installed=_monitoring_installed(cluster),
        assessed=assess_stored(_controller_facts(cluster), boundaries, workloads),
    )
    return Analysis(_persisted(report), scorecard.to_dict(), error)


def _objects(cluster: Cluster) -> tuple[list[own.GitOpsObject], dict[int, str]]:
    rows = GitOpsObject.objects.filter(cluster=cluster).values(
        "id",
        "tool",
        "group",
        "kind",
        "namespace",
        "name",
        "status",
        "sync",
        "target_namespaces",
        "dependencies",
    )
    # Conditions only matter for Argo CD's SharedResourceWarning: don't load them for the rest.
    conditions = dict(
        GitOpsObject.objects.filter(cluster=cluster, tool="argocd", kind="Application").values_list(
            "id", "conditions"
        )
    )
    objects, keys = [], {}
    for row in rows:
        warnings = [
            c for c in conditions.get(row["id"], []) if c.get("type") == "SharedResourceWarning"
        ]
        obj = own.GitOpsObject(
            tool=row["tool"],
            group=row["group"],
            kind=row["kind"],
            namespace=row["namespace"],
            name=row["name"],
            status=row["status"],
            sync=row["sync"],
            target_namespaces=row["target_namespaces"],
            dependencies=row["dependencies"],
            conditions=warnings,
            id=row["id"],
        )
        objects.append(obj)
        keys[row["id"]] = obj.key
    return objects, keys


def _claims(cluster: Cluster, keys: dict[int, str]) -> list[own.Claim]:
    # One string object per distinct group, kind, namespace, sync and health: the database
    # hands each row its own copies, and a big cluster's claims repeat a few dozen values.
    shared: dict[str, str] = {}
    one = shared.setdefault
    return [
        own.Claim(
            keys[obj_id],
            one(group, group),
            one(kind, kind),
            one(namespace, namespace),
            name,
            one(sync, sync) if sync else None,
            one(health, health) if health else None,
        )
        for obj_id, group, kind, namespace, name, sync, health in ManagedResource.objects.filter(
            cluster=cluster
        )
        .values_list("obj_id", "group", "kind", "namespace", "name", "sync", "health")
        .iterator(chunk_size=5000)
    ]


def _workloads(cluster: Cluster) -> list[own.Workload] | None:
    if not KindState.objects.filter(
        cluster=cluster, group="apps", kind="Deployment", last_success_at__isnull=False
    ).exists():
        return None  # never listed: the analysis says "cannot tell", not "missing"
    return [to_workload(w) for w in Workload.objects.filter(cluster=cluster)]


def _controller_facts(cluster: Cluster) -> Cluster:
    """The cluster with its metrics API state and deprecated-only APIs as stored now: a
    watcher holds its Cluster for hours while the collection writes these columns."""
    fresh = (
        Cluster.objects.filter(pk=cluster.pk)
        .only("metrics_state", "metrics_reason", "deprecated_apis")
        .first()
    )
    return fresh or cluster


def _monitors(cluster: Cluster) -> list[own.Monitor]:
    return [
        own.Monitor(
            m.kind,
            m.namespace,
            m.name,
            m.namespace_selector,
            m.selector.get("matchLabels") or {},
            m.selector.get("matchExpressions") or [],
        )
        for m in Monitor.objects.filter(cluster=cluster)
    ]


def _monitoring_installed(cluster: Cluster) -> bool | None:
    states = set(
        KindState.objects.filter(cluster=cluster, group="monitoring.coreos.com").values_list(
            "state", flat=True
        )
    )
    if KindState.OK in states:
        return True
    if states == {KindState.NOT_INSTALLED}:
        return False
    return None


# A namespace deployed into by thousands of Applications needs its summary, not the list.
DEPLOYERS_KEPT = 10


def _persisted(report: own.OwnershipReport) -> dict[str, Any]:
    """What pages need, serialised directly: the resources a human must look at (claimed twice
    or in a violation: those in a namespace-wide one only up to TIDEWATCH_OWNERSHIP_NAMESPACE_
    SAMPLE per namespace, the rest counted) with their claim chains, and per namespace a
    bounded deployer list. The full report of a big cluster is megabytes of the obvious and
    took seconds to serialise."""
    contested = [r for r in report.resources if len(r.claimed_by) > 1 or r.violations]
    claimants = {c.key for r in contested for c in r.claimed_by}
    return {
        "boundaries": report.boundaries.to_dict(),
        "violations": [v.to_dict() for v in report.violations],
        "namespaces": [
            {
                "namespace": n.namespace,
                "exists": n.exists,
                "declared_owner": n.declared_owner,
                "home_of": list(n.home_of),
                "deployed_by": list(n.deployed_by),
                "deployers": [d.to_dict() for d in n.deployers[:DEPLOYERS_KEPT]],
                "deployer_count": len(n.deployers),
                "resident_count": len(n.residents),
                "summary": n.summary,
                "violations": [v.to_dict() for v in n.violations],
                "violation_resources": n.violation_resources,
                "violation_resources_listed": n.violation_resources_listed,
            }
            for n in report.namespaces
        ],
        "resources": [r.to_dict() for r in contested],
        "chains": {
            key: [link.to_dict() for link in chain]
            for key, chain in report.chains.items()
            if key in claimants
        },
    }


# The report's columns that grow with the cluster: tens of MB of JSON when both tools deploy
# into every namespace of a big cluster and nothing is declared (every resource in a violation).
LARGE_COLUMNS = ("namespaces", "resources", "chains")


def _write_large_columns(stored: OwnershipReport, values: dict[str, Any]) -> None:
    """One UPDATE per large column, each serialised (orjson) just before it is sent: the ORM
    would hold every column's JSON text, and the database driver its copies of each, at once
    (the poll's memory peak at 20,000 objects)."""
    adapt = _json_adapter()
    table = connection.ops.quote_name(OwnershipReport._meta.db_table)
    with connection.cursor() as cursor:
        for name, value in values.items():
            column = connection.ops.quote_name(OwnershipReport._meta.get_field(name).column)
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE id = %s", [adapt(value), stored.pk]
            )
            setattr(stored, name, value)


@transaction.atomic
def save_ownership(cluster: Cluster, analysis: Analysis) -> OwnershipReport:
    """Write an analysis: the report, and the violations that appeared, changed or went."""
    now = timezone.now()
    data = analysis.data
    stored, _ = OwnershipReport.objects.update_or_create(
        cluster=cluster,
        defaults={
            "computed_at": now,
            "boundaries": data["boundaries"],
            "boundaries_error": analysis.boundaries_error,
            "namespaces": [],
            "resources": [],
            "chains": {},
            "scorecard": analysis.scorecard,
        },
    )
    _write_large_columns(stored, {name: data[name] for name in LARGE_COLUMNS})
    existing = {v.vid: v for v in Violation.objects.filter(cluster=cluster)}
    seen = set()
    shown_changed = False  # whether a page's view of the violations moved (not last_seen_at)
    unchanged: list[int] = []
    for item in data["violations"]:
        seen.add(item["id"])
        values = {
            "code": item["code"],
            "severity": item["severity"],
            "severity_rank": SEVERITY_RANK.get(item["severity"], len(SEVERITY_RANK)),
            "title": item["title"][:300],
            "explanation": item["explanation"],
            "namespace": item["namespace"] or "",
            "resource": (item["resource"] or {}).get("key", "")[:600],
            "tool": item["tool"] or "",
            "evidence": item["evidence"],
            "object_keys": item["objects"],
        }
        row = existing.get(item["id"])
        if row is None:
            Violation.objects.create(
                cluster=cluster, vid=item["id"][:600], first_seen_at=now, last_seen_at=now, **values
            )
            shown_changed = True
            log.warning("cluster %s: new ownership violation %s", cluster.name, item["explanation"])
        elif _same_violation(row, values):
            unchanged.append(row.pk)
        else:
            Violation.objects.filter(pk=row.pk).update(last_seen_at=now, **values)
            shown_changed = True
    for start in range(0, len(unchanged), 500):  # one UPDATE per 500, not one per violation
        Violation.objects.filter(pk__in=unchanged[start : start + 500]).update(last_seen_at=now)
    if Violation.objects.filter(cluster=cluster).exclude(vid__in=seen).delete()[0]:
        shown_changed = True
    if shown_changed:
        # Pages read violations (the object page's header), never the report's other columns
        # nor last_seen_at; the roll-ups the report feeds bump on their own when they change.
        # A re-analysis that found the same is no news: every open page would fingerprint.
        bump()
    return stored


def _same_violation(row: Violation, values: dict[str, Any]) -> bool:
    """Whether the stored row already holds these values. JSON is compared as stored (a
    tuple reads back as a list), and its lists as sets: the analysis reads claims in no fixed
    order (PostgreSQL returns rows as they lie), and an order alone is no news to a page."""
    for name, value in values.items():
        stored = getattr(row, name)
        if name in ("evidence", "object_keys"):
            if _unordered(stored) != _unordered(json.loads(json.dumps(value))):
                return False
        elif stored != value:
            return False
    return True


def _unordered(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(json.dumps(item, sort_keys=True) for item in value)
    return value


def namespace_ownership(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """namespace → {declared_owner, summary, codes, violations} from the stored report (for
    roll-ups; violations are {code, severity, explanation}, worst first)."""
    report = OwnershipReport.objects.filter(cluster=cluster).values_list("namespaces", flat=True)
    return namespace_entries(report.first() or [])


def namespace_entries(namespaces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """namespace_ownership of a report's ``namespaces`` (stored, or Analysis.data's)."""
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    for item in namespaces:
        result[item["namespace"]] = {
            "declared_owner": item.get("declared_owner") or "",
            "summary": item.get("summary") or "",
            "codes": sorted({v["code"] for v in item.get("violations") or []}),
            "violations": [
                {key: v.get(key, "") for key in ("code", "severity", "explanation")}
                for v in item.get("violations") or []
            ],
        }
    return result
