"""Namespace roll-ups: what each overview row shows, derived from the store.

A namespace's objects are the GitOps objects that live in it (home) or deploy into it
(target). "Deployed by" counts targets only: Big Bang's HelmReleases live in ``bigbang`` but
deploy into istio-system, monitoring ...; Argo CD's Applications live in ``argocd``.

``rebuild_rollups(cluster)`` recomputes every row (polls, resyncs, crash recovery);
``rebuild_rollups(cluster, namespaces={...})`` only those rows, which is what a watcher does after
each batch of events (clusters/sync.py). Both are the same handful of aggregate queries: the
database counts and picks each namespace's worst object, so a namespace of 10,000 Applications
(``argocd``) costs one GROUP BY, not 10,000 rows through Python.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.db.models.lookups import Exact, LessThan
from django.utils import timezone

from clusters.attention import namespace_attention
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    Namespace,
    NamespaceRollup,
    ObjectTarget,
    OwnershipReport,
)
from clusters.status.vocabulary import STATUS_ORDER, Status, Sync, worst_sync
from clusters.store.ownership import namespace_ownership
from clusters.store.version import bump

# More namespaces than this in one call: the whole rebuild, cheaper than a huge IN list.
SCOPED_AT_MOST = 500
# Up to this many changed rows are updated one by one, more with one bulk_update.
FEW_ROWS = 10

_HEALTHY_RANK = STATUS_ORDER.index(Status.HEALTHY)
# Sort key: status first, then sync, so a Healthy-but-OutOfSync object still gets a headline.
_SYNC_RANK = {Sync.OUT_OF_SYNC: 0, Sync.UNKNOWN: 1}
_FINE_SYNC_RANK = 2


@dataclass
class _Row:
    exists: bool = False
    count: int = 0
    status_counts: Counter[str] = field(default_factory=Counter)
    sync_counts: Counter[str] = field(default_factory=Counter)
    status_rank: int = len(STATUS_ORDER)
    tools: set[str] = field(default_factory=set)
    worst: dict[str, Any] | None = None  # the worst member, only when it is not fine
    failing_kinds: set[tuple[str, str]] = field(default_factory=set)


def rebuild_rollups(cluster: Cluster, namespaces: Iterable[str] | None = None) -> int:
    """Recompute the rows of ``namespaces`` (every namespace of the cluster when None) and
    write only rows that changed; returns how many were written. A namespace in
    ``namespaces`` that has nothing left (no Namespace object, no objects, no ownership entry)
    loses its row."""
    scope = None if namespaces is None else {ns for ns in namespaces if isinstance(ns, str)}
    if scope is not None and not scope:
        return 0
    if scope is not None and len(scope) > SCOPED_AT_MOST:
        scope = None
    rows = _members(cluster, scope)
    for name in _scoped(Namespace.objects.filter(cluster=cluster), "name", scope).values_list(
        "name", flat=True
    ):
        rows[name].exists = True
    owners = _ownership(cluster)
    for name in owners:
        if scope is None or name in scope:
            rows.setdefault(name, _Row())  # a namespace only claims reach still gets a row
    stale = _stale_reasons_by_kind(cluster)
    if stale:
        _failing_kinds(cluster, scope, stale, rows)
    wanted = {}
    for name, row in rows.items():
        rollup = _rollup(cluster, name, row, stale)
        owner = owners.get(name, {})
        rollup.declared_owner = owner.get("declared_owner", "")
        rollup.ownership = owner.get("summary", "")
        rollup.violation_codes = owner.get("codes", [])
        # A namespace whose only problem is an ownership violation needs attention too.
        verdict = namespace_attention(rollup.status, rollup.headline, owner.get("violations", []))
        rollup.attention_rank, rollup.attention = verdict.rank, verdict.tone
        rollup.headline = verdict.headline[:1000]
        wanted[name] = rollup
    return _write(cluster, wanted, scope)


# cluster id -> (the report's computed_at, its namespace entries): the report of a big cluster
# is megabytes of JSON, and a watcher updates a few rows several times a second.
_owners: dict[int, tuple[Any, dict[str, dict[str, Any]]]] = {}


def _ownership(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """namespace_ownership, read again only when a new report was saved."""
    computed_at = (
        OwnershipReport.objects.filter(cluster=cluster)
        .values_list("computed_at", flat=True)
        .first()
    )
    if computed_at is None:
        return {}
    cached = _owners.get(cluster.pk)
    if cached is not None and cached[0] == computed_at:
        return cached[1]
    # Read after computed_at: at worst newer than the time it is filed under, and read again.
    owners = namespace_ownership(cluster)
    _owners[cluster.pk] = (computed_at, owners)
    return owners


def _scoped(queryset: QuerySet[Any], field_name: str, scope: set[str] | None) -> QuerySet[Any]:
    return queryset if scope is None else queryset.filter(**{f"{field_name}__in": sorted(scope)})


def _members(cluster: Cluster, scope: set[str] | None) -> dict[str, _Row]:
    """Counts, tools and the worst member per namespace: four aggregate queries."""
    rows: dict[str, _Row] = defaultdict(_Row)
    homes = _scoped(GitOpsObject.objects.filter(cluster=cluster), "namespace", scope)
    targets = _scoped(ObjectTarget.objects.filter(cluster=cluster), "namespace", scope)

    def count(namespace: str, status: str, rank: int, sync: str, n: int) -> None:
        row = rows[namespace]
        row.count += n
        row.status_counts[status] += n
        row.sync_counts[sync] += n
        row.status_rank = min(row.status_rank, rank)

    for namespace, status, rank, sync, n in (
        homes.values_list("namespace", "status", "status_rank", "sync")
        .annotate(n=Count("id"))
        .order_by()
    ):
        count(namespace, status, rank, sync, n)
    # An object that deploys into its own namespace is counted once, as a resident; it still
    # makes its tool one that deploys there.
    for namespace, at_home, tool, status, rank, sync, n in (
        targets.annotate(
            at_home=Case(
                When(obj__namespace=F("namespace"), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .values_list(
            "namespace", "at_home", "obj__tool", "obj__status", "obj__status_rank", "obj__sync"
        )
        .annotate(n=Count("obj_id", distinct=True))
        .order_by()
    ):
        rows[namespace].tools.add(tool)
        if not at_home:
            count(namespace, status, rank, sync, n)

    for prefix, queryset in (("", homes), ("obj__", targets)):
        for worst in _worst_per_namespace(queryset, prefix, scope is not None):
            row = rows[worst["at"]]
            if row.worst is None or _severity(worst) < _severity(row.worst):
                row.worst = worst
    return rows


_WORST_FIELDS = ("kind", "namespace", "name", "status", "status_rank", "sync", "reason", "message")


def _worst_per_namespace(
    queryset: QuerySet[Any], prefix: str, scoped: bool
) -> list[dict[str, Any]]:
    """Each namespace's worst member that is not fine: a window query, so only candidates
    are sorted and one row per namespace comes back. Ties go to kind, namespace, name."""
    sync_rank = Case(
        *(When(**{f"{prefix}sync": sync}, then=Value(rank)) for sync, rank in _SYNC_RANK.items()),
        default=Value(_FINE_SYNC_RANK),
        output_field=IntegerField(),
    )
    rank: Any = F(f"{prefix}status_rank")
    if scoped:
        # "rank + 0" (in the filter and the window's order) keeps SQLite on the namespace
        # index: with the bare column it walks the (cluster, status_rank) index over every
        # unhealthy object of the cluster, 40 ms at 20,000 objects for a namespace of none.
        queryset = queryset.annotate(rank=ExpressionWrapper(rank + 0, IntegerField()))
        rank = F("rank")
    not_fine = Q(Exact(rank, _HEALTHY_RANK), **{f"{prefix}sync__in": list(_SYNC_RANK)})
    names = {f"{prefix}{name}": name for name in _WORST_FIELDS}
    ranked = (
        queryset.filter(LessThan(rank, _HEALTHY_RANK) | not_fine)
        .values(*names)
        .annotate(
            at=F("namespace"),
            place=Window(
                RowNumber(),
                partition_by=[F("namespace")],
                order_by=[
                    rank.asc(),
                    sync_rank.asc(),
                    F(f"{prefix}kind").asc(),
                    F(f"{prefix}namespace").asc(),
                    F(f"{prefix}name").asc(),
                ],
            ),
        )
        .filter(place=1)
        .order_by()
    )
    return [
        {"at": row["at"], **{names[key]: value for key, value in row.items() if key in names}}
        for row in ranked
    ]


def _severity(obj: dict[str, Any]) -> tuple[int, int, str, str, str]:
    return (
        obj["status_rank"],
        _SYNC_RANK.get(obj["sync"], _FINE_SYNC_RANK),
        obj["kind"],
        obj["namespace"],
        obj["name"],
    )


def _failing_kinds(
    cluster: Cluster,
    scope: set[str] | None,
    stale: dict[tuple[str, str], str],
    rows: dict[str, _Row],
) -> None:
    """Which failing kinds each namespace holds (only asked while some kind fails)."""
    homes = _scoped(GitOpsObject.objects.filter(cluster=cluster), "namespace", scope)
    targets = _scoped(ObjectTarget.objects.filter(cluster=cluster), "namespace", scope)
    of_kinds = Q()
    of_object_kinds = Q()
    for group, kind in stale:
        of_kinds |= Q(group=group, kind=kind)
        of_object_kinds |= Q(obj__group=group, obj__kind=kind)
    for queryset, prefix, kinds in ((homes, "", of_kinds), (targets, "obj__", of_object_kinds)):
        for namespace, group, kind in (
            queryset.filter(kinds)
            .values_list("namespace", f"{prefix}group", f"{prefix}kind")
            .distinct()
            .order_by()
        ):
            rows[namespace].failing_kinds.add((group, kind))


def _rollup(
    cluster: Cluster, namespace: str, row: _Row, stale: dict[tuple[str, str], str]
) -> NamespaceRollup:
    headline, headline_object = "", ""
    worst = row.worst
    if worst is not None:
        headline_object = f"{worst['kind']}/{worst['namespace']}/{worst['name']}"
        state = worst["status"] if worst["status"] != Status.HEALTHY else worst["sync"]
        what = worst["message"] or worst["reason"] or state
        headline = f"{worst['kind']} {worst['namespace']}/{worst['name']} is {state}: {what}"
    # One line per distinct failure, naming every kind it hides: an unreachable cluster makes
    # every kind fail with the same sentence, which must not repeat once per kind.
    failing: dict[str, set[str]] = defaultdict(set)
    for group, kind in row.failing_kinds:
        failing[stale[(group, kind)]].add(kind)
    reasons = sorted(f"{', '.join(sorted(kinds))}: {why}" for why, kinds in failing.items())
    status_counts = +row.status_counts  # drops zero counts
    sync_counts = +row.sync_counts
    return NamespaceRollup(
        cluster=cluster,
        namespace=namespace,
        exists=row.exists,
        deployed_by=sorted(row.tools),
        # The worst status (ranks are STATUS_ORDER positions): the worst object's.
        status=STATUS_ORDER[row.status_rank].value if row.count else "",
        status_rank=row.status_rank if row.count else len(STATUS_ORDER),
        sync=(worst_sync(sync_counts) or "") if row.count else "",
        status_counts=dict(sorted(status_counts.items())),
        sync_counts=dict(sorted(sync_counts.items())),
        object_count=row.count,
        headline=headline[:1000],
        headline_object=headline_object,
        stale_reasons=reasons,
    )


def _stale_reasons_by_kind(cluster: Cluster) -> dict[tuple[str, str], str]:
    return {
        (group, kind): f"{reason} — {error}"
        for group, kind, reason, error in KindState.objects.filter(
            cluster=cluster, state=KindState.ERROR
        ).values_list("group", "kind", "reason", "error")
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
def _write(cluster: Cluster, wanted: dict[str, NamespaceRollup], scope: set[str] | None) -> int:
    stored = _scoped(NamespaceRollup.objects.filter(cluster=cluster), "namespace", scope)
    current = {r.namespace: r for r in stored}
    gone = [r.id for name, r in current.items() if name not in wanted]
    if gone:
        NamespaceRollup.objects.filter(id__in=gone).delete()
    create, update = [], []
    changed: dict[int, dict[str, Any]] = {}
    now = timezone.now()
    for name, rollup in wanted.items():
        existing = current.get(name)
        rollup.updated_at = now
        if existing is None:
            create.append(rollup)
            continue
        fields = {
            f: getattr(rollup, f) for f in _COMPARED if getattr(existing, f) != getattr(rollup, f)
        }
        if fields:
            rollup.id = existing.id
            update.append(rollup)
            changed[existing.id] = {**fields, "updated_at": now}
    if create:
        NamespaceRollup.objects.bulk_create(create)
    if len(update) > FEW_ROWS:
        NamespaceRollup.objects.bulk_update(update, [*_COMPARED, "updated_at"])
    else:
        # A watcher's batch changes a row or two: a plain UPDATE of what changed costs a
        # fraction of bulk_update's CASE WHEN over every field (~50 ms of Python a row).
        for pk, fields in changed.items():
            NamespaceRollup.objects.filter(pk=pk).update(**fields)
    if gone or create or update:
        bump()  # pages learn of it; an unchanged row is not news
    return len(create) + len(update)
