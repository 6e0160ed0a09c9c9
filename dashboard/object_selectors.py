"""Every read of the object page (``/o/<cluster>/<kind>/<namespace>/<name>``), from the store only.

The number of queries is fixed, whatever the object's size:

1. the object and its cluster;
2. the cluster's kind states (is this kind, or the whole cluster, stale?);
3. a summary of the managed resources (how many, how many out of sync or unhealthy);
4. one page (``TIDEWATCH_PAGE_ROWS``) of managed resources, the ones needing attention first;
5. how many Events name the object, and 6. one page of them, newest first;
7. every related object at once: the targets of the object's own edges (one OR'ed ``Q`` per
   kind and namespace, names in an ``IN``) together with every object whose ``Dependency``
   edge points here (a ``FilteredRelation`` join), and every object the page names by
   reference (a Flux sourceRef/providerRef, a HelmChart, an ApplicationSet's applications);
8. how many moments of history are stored, and 9. the transitions of one page of them;
10. the status and presence transitions of the longest history window, plus the newest one
   before it (a scalar subquery) that says how the window opens;
11. for an Argo CD Application only, what argocd-server said of it (``ArgoAppDetail``: per
   resource health, live tree and diffs; dashboard/argocd_server.py), read before query 4
   so the resources it calls unhealthy come first;
12. for a HelmRelease with drift detection on, its newest drift Events (dashboard/helm_drift.py).

Lists held in the object's JSON (conditions, Helm history, sync results, ApplicationSet
statuses) are cut to one page before any row is built, and the stored object is only loaded
for the raw YAML block when it is under ``TIDEWATCH_PAGE_RAW_BYTES`` (its size is measured in
SQL), so the work per request stays bounded whatever the cluster stored.

Everything that comes from the cluster stays plain text here; the template escapes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from django.conf import settings
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, DenseRank, Length
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clusters.models import (
    Cluster,
    Event,
    GitOpsObject,
    ManagedResource,
    StatusTransition,
)
from clusters.status.flux import ARTIFACT_KINDS
from clusters.status.vocabulary import Status, Sync
from dashboard import argocd_server, history
from dashboard.action_outcomes import outcome_badge
from dashboard.bounds import Window as Rows
from dashboard.helm_drift import DriftView, drift_view
from dashboard.object_timeline import Identity, attempts
from dashboard.selectors import ClusterHealth, cluster_health
from dashboard.templatetags.tidewatch import STATUS_STYLE, SYNC_STYLE

# Rows per section come from settings (TIDEWATCH_PAGE_ROWS, _EVENTS, _TRANSITIONS): see bounds.
STRIP_LIMIT = 20_000
# Display limits: longer text is cut with the full text in a <details>.
MESSAGE_LIMIT = 2_000
CELL_LIMIT = 300
RAW_YAML_LIMIT = 400_000
TEXT_ITEMS = 50  # items of a list fact (sourceRepos, destinations ...) joined into its cell
# libyaml's dumper when built with it: ten times faster than the pure-Python one, same text.
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

UNHEALTHY = (Status.DEGRADED.value, Status.MISSING.value, Status.UNKNOWN.value)
FINE_SYNC = (Sync.SYNCED.value, Sync.NOT_APPLICABLE.value)


# -- small view models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """Icon + text + tone (a ``badge--<tone>`` class of the one palette)."""

    icon: str
    tone: str
    text: str


def status_like_badge(text: str, status: str) -> Badge:
    """A badge that reads ``text`` but looks like the palette's ``status``."""
    icon, tone = STATUS_STYLE.get(status, ("–", "muted"))
    return Badge(icon, tone, text)


MUTED = ("–", "muted")


@dataclass
class StaleNotice:
    scope: str  # "cluster" or "kind"
    reason: str
    message: str
    since: datetime | None  # the last good poll/list: what is shown dates from then


@dataclass
class ConditionRow:
    type: str
    status: str
    reason: str
    message: str
    last_transition: datetime | None
    badge: Badge
    deciding: bool  # the condition whose reason the headline gives


@dataclass
class Related:
    """An object on the dependency chain, stored or only named."""

    kind: str
    namespace: str
    name: str
    group: str = ""
    relations: list[str] = field(default_factory=list)
    stored: bool = False
    status: str = ""
    sync: str = ""
    tool: str = ""
    is_self: bool = False

    @property
    def relation_text(self) -> str:
        return ", ".join(self.relations)


@dataclass
class SourceRow:
    """One source of an Argo CD Application (each of a multi-source app), or a Flux source."""

    facts: list[tuple[str, str]]
    revision: str = ""  # what Argo CD synced from this source, when known


@dataclass
class ReleaseRow:
    version: Any
    chart: str
    app_version: str
    action: str
    badge: Badge
    deployed: datetime | None
    first_deployed: datetime | None
    digest: str
    config_digest: str
    test_hooks: dict[str, str]


@dataclass
class HelmView:
    counters: list[tuple[str, int]]
    facts: list[tuple[str, str]]
    releases: list[ReleaseRow]
    releases_window: Rows
    helm_chart: Related | None


@dataclass
class ResultRow:
    kind: str
    namespace: str
    name: str
    group: str
    badge: Badge
    message: str
    hook_phase: str
    sync_phase: str
    hook_type: str


@dataclass
class OperationView:
    badge: Badge
    message: str
    started: datetime | None
    finished: datetime | None
    initiated_by: str
    retry_count: int | None
    revisions: list[str]
    results: list[ResultRow]
    results_window: Rows


@dataclass
class ProgressRow:
    application: Related
    badge: Badge
    step: str
    message: str
    target_revisions: list[str]
    last_transition: datetime | None


@dataclass
class ReconcileRow:
    revision: str
    badge: Badge
    total: Any
    first: datetime | None
    last: datetime | None
    duration: str
    digest: str


@dataclass
class TimelineChange:
    field: str
    from_value: str
    to_value: str


@dataclass
class TimelineEntry:
    at: datetime
    changes: list[TimelineChange]
    message: str
    key: str


@dataclass
class ManagedSummary:
    total: int = 0
    out_of_sync: int = 0
    unhealthy: int = 0
    sync_reported: int = 0
    health_reported: int = 0


@dataclass
class ObjectPage:
    obj: GitOpsObject
    cluster: Cluster
    health: ClusterHealth
    stale: list[StaleNotice]
    conditions: list[ConditionRow]
    conditions_window: Rows
    sources: list[SourceRow]
    source_ref: Related | None
    helm: HelmView | None
    drift: DriftView | None  # a HelmRelease's drift detection (dashboard/helm_drift.py)
    operation: OperationView | None
    app_facts: list[tuple[str, str]]
    progress: list[ProgressRow]
    progress_window: Rows
    reconciles: list[ReconcileRow]
    reconciles_window: Rows
    other_facts: list[tuple[str, str]]
    managed: list[ManagedResource]  # each with ``argo``: its argocd_server.ResourceDetail | None
    managed_summary: ManagedSummary
    managed_window: Rows
    events: list[Event]
    events_window: Rows
    upstream: list[Related]
    downstream: list[Related]
    related_cap: int  # the limit when the chain was cut, else 0
    timeline: list[TimelineEntry]
    timeline_window: Rows
    actions_taken: list[ActionTaken]
    actions_total: int
    strips: list[history.Strip]
    raw: RawYaml
    argocd: argocd_server.ServerView | None = None  # None: not an Argo CD Application

    # -- what the header says ------------------------------------------------------------------

    @property
    def needs_attention(self) -> bool:
        return self.obj.status != Status.HEALTHY or self.obj.sync not in FINE_SYNC

    @property
    def attention_state(self) -> str:
        """What the headline calls it, as the overview does: the status when it is not
        Healthy, else the sync ("OutOfSync", "sync Unknown")."""
        obj = self.obj
        if obj.status != Status.HEALTHY:
            return obj.status
        return obj.sync if obj.sync == Sync.OUT_OF_SYNC else f"sync {obj.sync or 'Unknown'}"

    @property
    def attention_tone(self) -> str:
        if self.obj.status != Status.HEALTHY:
            return STATUS_STYLE.get(self.obj.status, ("", "warn"))[1]
        return "warn"

    @property
    def applied_differs(self) -> bool:
        """The last attempt did not land. Only said when the tool says OutOfSync: a multi-source
        Argo CD app names its revisions differently in the two places while in sync."""
        obj = self.obj
        return (
            obj.sync == Sync.OUT_OF_SYNC
            and bool(obj.attempted_revision)
            and obj.applied_revision != obj.attempted_revision
        )

    @property
    def related_count(self) -> int:
        return len(self.upstream) + len(self.downstream)

    @property
    def produces_artifact(self) -> bool:
        return self.obj.kind in ARTIFACT_KINDS

    @property
    def events_total(self) -> int:
        return self.events_window.total

    @property
    def transitions_total(self) -> int:
        return self.timeline_window.total

    @property
    def warnings(self) -> int:
        return sum(1 for event in self.events if event.type == "Warning")


# -- the page ------------------------------------------------------------------------------------


# The query parameter that pages each section (?resources_page=2 ...).
PAGE_PARAMS = (
    "conditions_page",
    "resources_page",
    "events_page",
    "history_page",
    "results_page",
    "releases_page",
    "apps_page",
    "reconciles_page",
)


def object_page(
    cluster: str,
    kind: str,
    namespace: str,
    name: str,
    pages: Mapping[str, int] | None = None,
    *,
    with_raw: bool = True,
) -> ObjectPage | None:
    """``pages``: the page each section shows (PAGE_PARAMS, 1 when absent). ``with_raw``:
    read the stored object for the raw YAML block (an htmx refresh does not show it)."""
    pages = pages or {}
    raw_limit = settings.TIDEWATCH_PAGE_RAW_BYTES if with_raw else 0
    obj = find_object(cluster, kind, namespace, name, raw_limit=raw_limit)
    if obj is None:
        return None
    rows = settings.TIDEWATCH_PAGE_ROWS
    now = timezone.now()
    the_cluster = obj.cluster
    health = cluster_health(the_cluster, now)  # uses the prefetched kind states
    details = _details(obj)
    statuses, progress_window = page_of(details.get("applicationStatus"), "apps_page", pages, rows)
    apps = [("Application", obj.namespace, str(item.get("application", ""))) for item in statuses]
    related = RelatedObjects.read(obj, references(obj) + apps)
    argocd = argocd_server.server_view(obj, argocd_server.read_detail(obj))
    attention = [d.key for d in argocd.unhealthy] if argocd else []
    summary, managed, managed_window = managed_resources(
        obj, pages.get("resources_page", 1), attention
    )
    if argocd is not None:
        with_server_detail(managed, summary, argocd)
    events, events_window = object_events(obj, pages.get("events_page", 1))
    timeline, timeline_window = transition_timeline(obj, pages.get("history_page", 1))
    actions_taken, actions_total = actions_history(obj, rows)
    conditions, conditions_window = condition_rows(obj, pages)
    progress = progress_rows(obj, statuses, related)
    reconciles, reconciles_window = reconcile_rows(obj, pages)
    return ObjectPage(
        obj=obj,
        cluster=the_cluster,
        health=health,
        stale=stale_notices(obj, health),
        conditions=conditions,
        conditions_window=conditions_window,
        sources=source_rows(obj),
        source_ref=related.source_ref(obj),
        helm=helm_view(obj, related, pages),
        drift=drift_view(obj),
        operation=operation_view(obj, pages),
        app_facts=application_facts(obj, server_reported=bool(argocd and argocd.has_data)),
        progress=progress,
        progress_window=progress_window,
        reconciles=reconciles,
        reconciles_window=reconciles_window,
        other_facts=other_facts(obj),
        managed=managed,
        managed_summary=summary,
        managed_window=managed_window,
        events=events,
        events_window=events_window,
        upstream=related.upstream,
        downstream=related.downstream,
        related_cap=related.limit if related.capped else 0,
        timeline=timeline,
        timeline_window=timeline_window,
        actions_taken=actions_taken,
        actions_total=actions_total,
        strips=history.build_strips(strip_changes(obj, now), now),
        raw=raw_yaml(obj, raw_limit),
        argocd=argocd,
    )


def find_object(
    cluster: str, kind: str, namespace: str, name: str, raw_limit: int = 0
) -> GitOpsObject | None:
    """Queries 1 and 2. ``kind`` is matched case-insensitively, as the JSON API does.

    The stored object (``raw``) is the largest field: its size is measured in SQL and it is
    only sent (as ``raw_capped``) when under ``raw_limit``; ``obj.raw`` itself is deferred and
    must not be touched here (that would load it whatever its size).
    """
    rows = (
        GitOpsObject.objects.select_related("cluster")
        .prefetch_related("cluster__kind_states")
        .defer("raw")
        .filter(cluster__name=cluster, kind__iexact=kind, namespace=namespace, name=name)
        .order_by("group")
    )
    if raw_limit:  # an htmx refresh does not show the raw YAML: nothing to measure
        rows = rows.annotate(raw_size=Length(Cast("raw", output_field=TextField()))).annotate(
            raw_capped=Case(
                When(Q(raw_size__lte=raw_limit), then=F("raw")),
                default=None,
                output_field=JSONField(),
            )
        )
    return rows.first()


def page_of(
    items: Any, param: str, pages: Mapping[str, int], size: int
) -> tuple[list[dict[str, Any]], Rows]:
    """One page of a list held in the object's JSON (only its mappings count as rows)."""
    entries = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    window = Rows.of(param, pages.get(param, 1), size, len(entries))
    return entries[window.start : window.stop], window


@dataclass
class Missing:
    """What the 404 page can say about an object that is not stored."""

    cluster_exists: bool
    cluster_name: str
    kind: str
    namespace: str
    name: str
    last_seen: StatusTransition | None  # its removal, when Tidewatch saw it go


def missing_object(cluster: str, kind: str, namespace: str, name: str) -> Missing:
    """Two queries, on the 404 path only."""
    exists = Cluster.objects.filter(name=cluster).exists()
    last = (
        StatusTransition.objects.filter(
            cluster__name=cluster,
            kind__iexact=kind,
            namespace=namespace,
            name=name,
            field=StatusTransition.PRESENCE,
        )
        .order_by("-at", "-id")
        .first()
    )
    return Missing(exists, cluster, kind, namespace, name, last)


# -- stale ---------------------------------------------------------------------------------------


def stale_notices(obj: GitOpsObject, health: ClusterHealth) -> list[StaleNotice]:
    """The cluster (unreachable, not polled lately) and this kind (its list failed)."""
    notices = []
    if health.stale:
        reason, _, message = health.stale_reason.partition(": ")
        notices.append(
            StaleNotice("cluster", reason, message or reason, health.cluster.last_success_at)
        )
    for state in health.failing_kinds:
        if state.group == obj.group and state.kind == obj.kind:
            notices.append(
                StaleNotice("kind", state.reason or "Error", state.error, state.last_success_at)
            )
    return notices


# -- conditions ----------------------------------------------------------------------------------

# Condition polarity: types where True is the abnormal state, and how bad (icon + tone). The
# rest (Ready, Released, Healthy, ...) are good when True and bad when False.
BAD_WHEN_TRUE = ("✕", "bad")
WARNING_WHEN_TRUE = ("⚠", "warn")
BUSY_WHEN_TRUE = ("◔", "progress")
ABNORMAL_WHEN_TRUE = {
    "Stalled": BAD_WHEN_TRUE,
    "ErrorOccurred": BAD_WHEN_TRUE,  # ApplicationSet
    "Reconciling": BUSY_WHEN_TRUE,
    "RolloutProgressing": BUSY_WHEN_TRUE,
    # A Helm remediation (rollback/uninstall) ran: a release failed before it.
    "Remediated": WARNING_WHEN_TRUE,
    # helm-controller found the cluster differing from the release (drift detection on).
    "Drifted": WARNING_WHEN_TRUE,
}


def abnormal_when_true(ctype: str) -> tuple[str, str] | None:
    """The icon and tone of ``True`` for an abnormal-true condition type, else None. Argo CD's
    condition types say their polarity in their name (ComparisonError, SyncError,
    OrphanedResourceWarning ...)."""
    if ctype in ABNORMAL_WHEN_TRUE:
        return ABNORMAL_WHEN_TRUE[ctype]
    if ctype.endswith("Error"):
        return BAD_WHEN_TRUE
    if ctype.endswith("Warning"):
        return WARNING_WHEN_TRUE
    return None


def condition_badge(ctype: str, status: str) -> Badge:
    abnormal = abnormal_when_true(ctype)
    if abnormal is not None:
        if status == "True":
            return Badge(*abnormal, status)
        if status == "False":
            return Badge(*MUTED, status)
        return status_like_badge(status or "Unknown", "Unknown")
    looks = {"True": "Healthy", "False": "Degraded"}.get(status, "Progressing")
    return status_like_badge(status or "Unknown", looks)


def condition_rows(obj: GitOpsObject, pages: Mapping[str, int]) -> tuple[list[ConditionRow], Rows]:
    items, window = page_of(obj.conditions, "conditions_page", pages, settings.TIDEWATCH_PAGE_ROWS)
    rows = []
    for item in items:
        ctype, status = str(item.get("type", "")), str(item.get("status", ""))
        reason = str(item.get("reason") or "")
        rows.append(
            ConditionRow(
                type=ctype,
                status=status,
                reason=reason,
                message=str(item.get("message") or ""),
                last_transition=_time(item.get("last_transition_time")),
                badge=condition_badge(ctype, status),
                deciding=bool(obj.reason) and obj.reason in (reason, ctype),
            )
        )
    return rows, window


# -- revisions and sources -----------------------------------------------------------------------

SOURCE_LABELS = {
    "repoURL": "Repository",
    "url": "URL",
    "path": "Path",
    "chart": "Chart",
    "version": "Version",
    "targetRevision": "Target revision",
    "ref": "Ref",
    "type": "Type",
    "bucketName": "Bucket",
    "image": "Image",
    "hydrator": "Source hydrator",
}


def source_rows(obj: GitOpsObject) -> list[SourceRow]:
    source = obj.source if isinstance(obj.source, dict) else {}
    if not source:
        return []
    if obj.tool == "argocd":
        sources = source.get("sources")
        items = sources if isinstance(sources, list) and sources else [source]
        revisions = [str(r) for r in obj.revisions] if isinstance(obj.revisions, list) else []
        rows = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            revision = revisions[index] if len(revisions) == len(items) else ""
            rows.append(SourceRow(_facts(item, skip=("sources",)), revision))
        return rows
    # Flux: the reference itself (kind/namespace/name) is shown as a link, the rest as facts.
    return [SourceRow(_facts(source, skip=("kind", "name", "namespace")))]


def _facts(values: dict[str, Any], skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    facts = []
    for key, value in values.items():
        if key in skip or value in ("", None, [], {}):
            continue
        facts.append((SOURCE_LABELS.get(key, key), _text(value)))
    return facts


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        # A fact is one cell (cut at CELL_LIMIT): a list of 100,000 is not joined whole.
        shown = ", ".join(_text(v) for v in value[:TEXT_ITEMS])
        return shown + (f" … ({len(value):,} in all)" if len(value) > TEXT_ITEMS else "")
    return str(value)


# -- kind-specific details -----------------------------------------------------------------------

HELM_RELEASE_STATUS = {
    "deployed": "Healthy",
    "failed": "Degraded",
    "pending-install": "Progressing",
    "pending-upgrade": "Progressing",
    "pending-rollback": "Progressing",
    "uninstalling": "Progressing",
    "unknown": "Unknown",
}
HELM_FACTS = (
    ("lastAttemptedRevision", "Last attempted chart"),
    ("lastAttemptedReleaseAction", "Last attempted action"),
    ("lastAttemptedConfigDigest", "Last attempted config digest"),
    ("lastAttemptedRevisionDigest", "Last attempted chart digest"),
    ("releaseName", "Release name"),
    ("storageNamespace", "Storage namespace"),
)


def helm_view(
    obj: GitOpsObject, related: RelatedObjects, pages: Mapping[str, int]
) -> HelmView | None:
    details = _details(obj)
    if obj.kind != "HelmRelease" or not details:
        return None
    counters = [
        ("Failures", _int(details.get("failures"))),
        ("Install failures", _int(details.get("installFailures"))),
        ("Upgrade failures", _int(details.get("upgradeFailures"))),
    ]
    facts = [(label, str(details[key])) for key, label in HELM_FACTS if details.get(key)]
    snaps, window = page_of(
        details.get("history"), "releases_page", pages, settings.TIDEWATCH_PAGE_ROWS
    )
    releases = []
    for snap in snaps:
        status = str(snap.get("status", ""))
        chart = " ".join(str(snap[k]) for k in ("chartName", "chartVersion") if snap.get(k))
        hooks = snap.get("testHooks")
        releases.append(
            ReleaseRow(
                version=snap.get("version", ""),
                chart=chart,
                app_version=str(snap.get("appVersion", "")),
                action=str(snap.get("action", "")),
                badge=(
                    status_like_badge(status, HELM_RELEASE_STATUS[status])
                    if status in HELM_RELEASE_STATUS
                    else Badge(*MUTED, status or "–")
                ),
                deployed=_time(snap.get("lastDeployed")),
                first_deployed=_time(snap.get("firstDeployed")),
                digest=str(snap.get("digest", "")),
                config_digest=str(snap.get("configDigest", "")),
                test_hooks=hooks if isinstance(hooks, dict) else {},
            )
        )
    chart = helm_chart_ref(obj)
    helm_chart = related.find(*chart) if chart else None
    return HelmView(counters, facts, releases, window, helm_chart)


def helm_chart_ref(obj: GitOpsObject) -> Key | None:
    """The HelmChart a HelmRelease's chart template made (status.helmChart "<ns>/<name>")."""
    chart_ref = str(_details(obj).get("helmChart", "")) if obj.kind == "HelmRelease" else ""
    chart_namespace, sep, chart_name = chart_ref.partition("/")
    return ("HelmChart", chart_namespace, chart_name) if sep and chart_name else None


OPERATION_PHASE = {
    "Succeeded": "Healthy",
    "Failed": "Degraded",
    "Error": "Degraded",
    "Running": "Progressing",
    "Terminating": "Progressing",
}
RESULT_STATUS = {
    "Synced": ("✓", "ok"),
    "SyncFailed": ("✕", "bad"),
    "OutOfSync": SYNC_STYLE["OutOfSync"],
    "PruneSkipped": ("≠", "warn"),
    "Pruned": MUTED,
}


def operation_view(obj: GitOpsObject, pages: Mapping[str, int]) -> OperationView | None:
    state = _details(obj).get("operationState")
    if not isinstance(state, dict):
        return None
    phase = str(state.get("phase", ""))
    result = state.get("syncResult") if isinstance(state.get("syncResult"), dict) else {}
    revisions = [str(r) for r in result.get("revisions") or []] or (
        [str(result["revision"])] if result.get("revision") else []
    )
    # Failures first: with many resources the one that failed is what a human looks for. The
    # order is decided on the bare status so only one page of rows is built.
    items = [item for item in result.get("resources") or [] if isinstance(item, dict)]
    items.sort(key=lambda item: 0 if _result_style(item)[1] in ("bad", "warn") else 1)
    items, window = page_of(items, "results_page", pages, settings.TIDEWATCH_PAGE_ROWS)
    rows = []
    for item in items:
        status = str(item.get("status", ""))
        icon, tone = _result_style(item)
        hook_type = str(item.get("hookType", ""))
        rows.append(
            ResultRow(
                kind=str(item.get("kind", "")),
                namespace=str(item.get("namespace", "")),
                name=str(item.get("name", "")),
                group=str(item.get("group", "")),
                badge=Badge(icon, tone, status or "–"),
                message=str(item.get("message", "")),
                # Argo CD writes hookPhase "Running" on plain resources and never updates it:
                # it only means something for a hook (hookType set).
                hook_phase=str(item.get("hookPhase", "")) if hook_type else "",
                sync_phase=str(item.get("syncPhase", "")),
                hook_type=hook_type,
            )
        )
    retry = state.get("retryCount")
    return OperationView(
        badge=status_like_badge(phase or "–", OPERATION_PHASE.get(phase, "")),
        message=str(state.get("message", "")),
        started=_time(state.get("startedAt")),
        finished=_time(state.get("finishedAt")),
        initiated_by=_initiated_by(state.get("initiatedBy")),
        retry_count=retry if isinstance(retry, int) else None,
        revisions=revisions,
        results=rows,
        results_window=window,
    )


def _result_style(item: dict[str, Any]) -> tuple[str, str]:
    status = str(item.get("status", ""))
    return RESULT_STATUS.get(status, ("?", "warn") if status else MUTED)


def _initiated_by(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    if value.get("automated"):
        return "automated sync"
    return str(value.get("username") or "")


def application_facts(obj: GitOpsObject, server_reported: bool = False) -> list[tuple[str, str]]:
    """``server_reported``: argocd-server's per-resource health is shown (no "not reported")."""
    details = _details(obj)
    if obj.kind != "Application":
        return []
    facts = [("Project", str(details.get("project", "")))]
    destination = details.get("destination") if isinstance(details.get("destination"), dict) else {}
    where = destination.get("server") or destination.get("name") or ""
    facts.append(("Destination", f"{where} → {destination.get('namespace') or '(no namespace)'}"))
    types = details.get("sourceTypes") or [details.get("sourceType", "")]
    facts.append(("Source type", ", ".join(str(t) for t in types if t)))
    facts.append(
        (
            "Health / sync as written",
            f"{details.get('healthStatus') or '–'} / {details.get('syncStatus') or '–'}",
        )
    )
    facts.append(("Compared revision", str(details.get("syncRevision", ""))))
    facts.append(("Health message", str(details.get("healthMessage", ""))))
    if details.get("resourceHealthSource") == "appTree" and not server_reported:
        facts.append(
            (
                "Per-resource health",
                "not reported: Argo CD ≥ 3.0 keeps it out of the Application "
                "(resourceHealthSource: appTree)",
            )
        )
    facts.append(("Deletion requested", str(details.get("deletionTimestamp", ""))))
    return [(label, value) for label, value in facts if value]


APPSET_STATUS = {
    "Healthy": "Healthy",
    "Progressing": "Progressing",
    "Pending": "Progressing",
    "Waiting": "Suspended",
}


def progress_rows(
    obj: GitOpsObject, statuses: list[dict[str, Any]], related: RelatedObjects
) -> list[ProgressRow]:
    """``statuses``: one page of the ApplicationSet's applicationStatus (see page_of)."""
    rows = []
    for item in statuses:
        status = str(item.get("status", ""))
        name = str(item.get("application", ""))
        rows.append(
            ProgressRow(
                application=related.find("Application", obj.namespace, name),
                badge=status_like_badge(status or "–", APPSET_STATUS.get(status, "Unknown")),
                step=str(item.get("step", "")),
                message=str(item.get("message", "")),
                target_revisions=[str(r) for r in item.get("targetRevisions") or []],
                last_transition=_time(item.get("lastTransitionTime")),
            )
        )
    return rows


def reconcile_rows(obj: GitOpsObject, pages: Mapping[str, int]) -> tuple[list[ReconcileRow], Rows]:
    history = _details(obj).get("history") if obj.kind == "Kustomization" else None
    items, window = page_of(history, "reconciles_page", pages, settings.TIDEWATCH_PAGE_ROWS)
    rows = []
    for item in items:
        status = str(item.get("lastReconciledStatus", ""))
        failed = "fail" in status.lower()
        rows.append(
            ReconcileRow(
                revision=str(item.get("revision", "")),
                badge=status_like_badge(status or "–", "Degraded" if failed else "Healthy"),
                total=item.get("totalReconciliations", ""),
                first=_time(item.get("firstReconciled")),
                last=_time(item.get("lastReconciled")),
                duration=str(item.get("lastReconciledDuration", "")),
                digest=str(item.get("digest", "")),
            )
        )
    return rows, window


# Keys the sections above show; other_facts lists what is left.
SHOWN_DETAILS = {
    "HelmRelease": {"failures", "installFailures", "upgradeFailures", "history", "helmChart"}
    | {key for key, _ in HELM_FACTS}
    | {"drift"},  # the Drift detection section (partials/helm_drift.html)
    "Application": {
        *("healthStatus", "syncStatus", "project", "destination", "operationState"),
        *("resourceHealthSource", "sourceType", "sourceTypes", "syncRevision"),
        *("healthMessage", "deletionTimestamp"),
    },
    "ApplicationSet": {"applicationStatus"},
    "Kustomization": {"history"},
}


def other_facts(obj: GitOpsObject) -> list[tuple[str, str]]:
    shown = SHOWN_DETAILS.get(obj.kind, set())
    facts = []
    for key, value in _details(obj).items():
        if key in shown or value in ("", None, [], {}):
            continue
        if isinstance(value, dict):
            facts.extend((f"{key}.{k}", _text(v)) for k, v in value.items() if v not in ("", None))
        else:
            facts.append((key, _text(value)))
    return facts


# -- managed resources, events, transitions --------------------------------------------------------


def managed_resources(
    obj: GitOpsObject, page: int = 1, unhealthy: Iterable[argocd_server.ResourceKey] = ()
) -> tuple[ManagedSummary, list[ManagedResource], Rows]:
    """Queries 3 and 4: a summary over all, and one page of rows, failing ones first.
    ``unhealthy``: resources known to be unhealthy elsewhere (argocd-server), also first; at
    most one page of them is named in the query."""
    rows = ManagedResource.objects.filter(obj=obj)
    sick = Q(health__in=UNHEALTHY)
    for group, kind, namespace, name in list(unhealthy)[: settings.TIDEWATCH_PAGE_ROWS]:
        sick |= Q(group=group, kind=kind, namespace=namespace, name=name)
    summary = rows.aggregate(
        total=Count("id"),
        out_of_sync=Count("id", filter=Q(sync=Sync.OUT_OF_SYNC.value)),
        unhealthy=Count("id", filter=Q(health__in=UNHEALTHY)),
        sync_reported=Count("id", filter=~Q(sync="")),
        health_reported=Count("id", filter=~Q(health="")),
    )
    managed = ManagedSummary(**{k: v or 0 for k, v in summary.items()})
    window = Rows.of("resources_page", page, settings.TIDEWATCH_PAGE_ROWS, managed.total)
    shown = list(
        rows.annotate(
            # Unhealthy first, then out of sync, then the rest.
            attention=Case(
                When(sick, then=Value(0)),
                When(sync=Sync.OUT_OF_SYNC.value, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        ).order_by("attention", "namespace", "kind", "name", "id")[window.start : window.stop]
    )
    return managed, shown, window


def with_server_detail(
    managed: list[ManagedResource], summary: ManagedSummary, argocd: argocd_server.ServerView
) -> None:
    """Give each shown row argocd-server's word on it (``row.argo``), and count the health it
    reports, which the Application itself no longer holds (Argo CD >= 3.0)."""
    for row in managed:
        row.argo = argocd.get(row.group, row.kind, row.namespace, row.name)  # type: ignore[attr-defined]
    reported = sum(1 for d in argocd.resources.values() if d.health)
    summary.health_reported = max(summary.health_reported, reported)
    summary.unhealthy = max(summary.unhealthy, len(argocd.unhealthy))


def object_events(obj: GitOpsObject, page: int = 1) -> tuple[list[Event], Rows]:
    """Queries 5 and 6. Events name their object by kind/namespace/name (+ apiVersion's
    group)."""
    about = Event.objects.filter(
        Q(involved_group=obj.group) | Q(involved_group=""),
        cluster_id=obj.cluster_id,
        involved_kind=obj.kind,
        involved_namespace=obj.namespace,
        involved_name=obj.name,
    )
    window = Rows.of("events_page", page, settings.TIDEWATCH_PAGE_EVENTS, about.count())
    events = list(about.order_by("-last_seen", "-id")[window.start : window.stop])
    return events, window


def _identity(obj: GitOpsObject) -> QuerySet[StatusTransition]:
    """Transitions by identity, not by foreign key: earlier lives of a recreated object count."""
    return StatusTransition.objects.filter(
        cluster_id=obj.cluster_id,
        group=obj.group,
        kind=obj.kind,
        namespace=obj.namespace,
        name=obj.name,
    )


def transition_timeline(obj: GitOpsObject, page: int = 1) -> tuple[list[TimelineEntry], Rows]:
    """Queries 8 and 9: one page of history, by moment. One poll writes the status, sync and
    revision changes of an object at the same instant, with one message: that is one entry,
    and what the count counts, so "2 stored" lists two."""
    moments = _identity(obj).aggregate(n=Count("at", distinct=True))["n"] or 0
    window = Rows.of("history_page", page, settings.TIDEWATCH_PAGE_TRANSITIONS, moments)
    # Dense rank over the instants: the page's moments, whatever their number of changes.
    ranked = _identity(obj).annotate(moment=Window(DenseRank(), order_by=F("at").desc()))
    rows = list(
        ranked.filter(moment__gt=window.start, moment__lte=window.stop)
        .order_by("-at", "-id")
        .only("id", "at", "field", "from_value", "to_value", "message")
    )
    entries: list[TimelineEntry] = []
    for row in rows:
        change = TimelineChange(row.field, row.from_value, row.to_value)
        if entries and entries[-1].at == row.at:
            entries[-1].changes.append(change)
            if row.message and row.message not in entries[-1].message:
                entries[-1].message = " — ".join(m for m in (entries[-1].message, row.message) if m)
        else:
            entries.append(TimelineEntry(row.at, [change], row.message, f"t{row.id}"))
    order = {"presence": 0, "status": 1, "sync": 2, "revision": 3}
    for entry in entries:
        entry.changes.sort(key=lambda c: order.get(c.field, 9))
    return entries, window


def strip_changes(obj: GitOpsObject, now: datetime) -> list[history.Change]:
    """Query 8: status/presence changes inside the longest window, and the one before it."""
    start = now - history.LONGEST_WINDOW
    fields = (StatusTransition.STATUS, StatusTransition.PRESENCE)
    shaping = _identity(obj).filter(field__in=fields)
    before = shaping.filter(at__lt=start).order_by("-at", "-id").values("pk")[:1]
    rows = list(
        shaping.filter(Q(at__gte=start) | Q(pk=Subquery(before)))
        .order_by("-at", "-id")
        .values_list("at", "field", "to_value")[:STRIP_LIMIT]
    )
    rows.reverse()
    return [history.Change(at, field_name, value) for at, field_name, value in rows]


# -- the dependency chain ------------------------------------------------------------------------

UPSTREAM_LABELS = {
    "source": "source",
    "helmchart": "Helm chart",
    "dependsOn": "depends on",
    "parent": "parent",
}
# An edge X -> this object, seen from here.
DOWNSTREAM_LABELS = {
    "source": "uses it as source",
    "helmchart": "uses it as Helm chart",
    "dependsOn": "depends on it",
    "parent": "child",
}
RELATION_ORDER = ["source", "Helm chart", "depends on", "parent", "child"]
Key = tuple[str, str, str]


class RelatedObjects:
    """Query 7: both directions of the dependency chain, and every object the page names by
    reference, resolved at once. The object itself is never its own parent or child (a Flux
    Kustomization that applies itself lists itself in its inventory)."""

    def __init__(
        self, obj: GitOpsObject, rows: list[dict[str, Any]], capped: bool, limit: int
    ) -> None:
        self.me: Key = (obj.kind, obj.namespace, obj.name)
        self.my_group = obj.group
        self.capped = capped
        self.limit = limit
        self.rows: dict[Key, list[dict[str, Any]]] = {}
        for row in rows:
            self.rows.setdefault((row["kind"], row["namespace"], row["name"]), []).append(row)
        self.upstream: list[Related] = []
        self.downstream: list[Related] = []
        self._index: dict[tuple[str, Key], Related] = {}
        self._build(obj, rows)

    @classmethod
    def read(cls, obj: GitOpsObject, references: Iterable[Key] = ()) -> RelatedObjects:
        """``references``: other objects the page names (kind, namespace, name)."""
        # One page of related objects: the chain of an app-of-apps with 100,000 children is
        # the first TIDEWATCH_PAGE_ROWS of them, and the section says it is cut.
        limit = settings.TIDEWATCH_PAGE_ROWS
        names: dict[tuple[str, str], set[str]] = {}
        deps = _dependencies(obj)
        wanted_keys = list(references) + [(d["kind"], d["namespace"], d["name"]) for d in deps]
        for kind, namespace, name in wanted_keys[:limit]:
            names.setdefault((kind, namespace), set()).add(name)
        wanted = Q()
        for (kind, namespace), group_names in sorted(names.items()):
            wanted |= Q(kind=kind, namespace=namespace, name__in=sorted(group_names))
        pointing_here = Q(
            edges__kind=obj.kind, edges__namespace=obj.namespace, edges__name=obj.name
        ) & (Q(edges__group=obj.group) | Q(edges__group=""))
        rows = list(
            GitOpsObject.objects.filter(cluster_id=obj.cluster_id)
            .annotate(incoming=FilteredRelation("edges", condition=pointing_here))
            .filter(wanted | Q(incoming__id__isnull=False))
            .order_by("status_rank", "kind", "namespace", "name")
            .values(
                *("id", "tool", "group", "kind", "namespace", "name", "status", "sync"),
                "incoming__relation",
            )[: limit + 1]
        )
        capped = len(rows) > limit or len(wanted_keys) > limit
        return cls(obj, rows[:limit], capped, limit)

    def find(self, kind: str, namespace: str, name: str, group: str = "") -> Related:
        """A Related for any named object: stored (with its status) or only named."""
        related = Related(kind=kind, namespace=namespace, name=name, group=group)
        row = self._row((kind, namespace, name), group)
        if row is not None:
            related.stored = True
            related.group, related.status, related.sync = row["group"], row["status"], row["sync"]
            related.tool = row["tool"]
        related.is_self = (kind, namespace, name) == self.me
        return related

    def source_ref(self, obj: GitOpsObject) -> Related | None:
        """The Flux sourceRef/chartRef (Argo CD sources are URLs, not objects)."""
        source = obj.source if isinstance(obj.source, dict) else {}
        if obj.tool != "flux" or not source.get("kind") or not source.get("name"):
            return None
        return self.find(
            str(source["kind"]), str(source.get("namespace") or obj.namespace), str(source["name"])
        )

    def _row(self, key: Key, group: str) -> dict[str, Any] | None:
        for row in self.rows.get(key, []):
            if not group or row["group"] == group:
                return row
        return None

    def _add(self, direction: str, key: Key, group: str, relation: str) -> None:
        if key == self.me and group in ("", self.my_group):
            return
        index_key = (direction, key)
        related = self._index.get(index_key)
        if related is None:
            related = self.find(*key, group=group)
            self._index[index_key] = related
            (self.upstream if direction == "up" else self.downstream).append(related)
        if relation not in related.relations:
            related.relations.append(relation)

    def _build(self, obj: GitOpsObject, rows: list[dict[str, Any]]) -> None:
        for dep in _dependencies(obj)[: self.limit]:
            key = (dep["kind"], dep["namespace"], dep["name"])
            if dep["relation"] == "child":
                self._add("down", key, dep["group"], "child")
            else:
                label = UPSTREAM_LABELS.get(dep["relation"], dep["relation"])
                self._add("up", key, dep["group"], label)
        for row in rows:
            relation = row["incoming__relation"]
            if relation is None:
                continue
            key = (row["kind"], row["namespace"], row["name"])
            if relation == "child":  # it lists this object as its child: it is our parent
                self._add("up", key, row["group"], "parent")
            else:
                self._add("down", key, row["group"], DOWNSTREAM_LABELS.get(relation, relation))
        rank = {label: i for i, label in enumerate(RELATION_ORDER)}
        self.upstream.sort(key=lambda r: min(rank.get(x, 9) for x in r.relations))
        status_rank = {status.value: status.rank for status in Status}
        self.downstream.sort(
            key=lambda r: (not r.stored, status_rank.get(r.status, 9), r.kind, r.namespace, r.name)
        )


def references(obj: GitOpsObject) -> list[Key]:
    """Objects the page names outside the dependency edges: a Flux sourceRef (an Alert's
    providerRef, an ImagePolicy's imageRepositoryRef ...) and a HelmRelease's HelmChart."""
    keys = []
    source = obj.source if isinstance(obj.source, dict) else {}
    if obj.tool == "flux" and source.get("kind") and source.get("name"):
        namespace = str(source.get("namespace") or obj.namespace)
        keys.append((str(source["kind"]), namespace, str(source["name"])))
    chart = helm_chart_ref(obj)
    if chart:
        keys.append(chart)
    return keys


def _dependencies(obj: GitOpsObject) -> list[dict[str, str]]:
    deps = []
    for dep in obj.dependencies if isinstance(obj.dependencies, list) else []:
        if isinstance(dep, dict) and dep.get("kind") and dep.get("name"):
            deps.append(
                {
                    "relation": str(dep.get("relation", "")),
                    "kind": str(dep["kind"]),
                    "namespace": str(dep.get("namespace") or ""),
                    "name": str(dep["name"]),
                    "group": str(dep.get("group") or ""),
                }
            )
    return deps


# -- helpers -------------------------------------------------------------------------------------


@dataclass
class RawYaml:
    text: str
    truncated: bool  # cut at RAW_YAML_LIMIT characters
    size: int  # the stored object's size as JSON text (characters)
    limit: int  # TIDEWATCH_PAGE_RAW_BYTES; 0 = not asked for (an htmx refresh)

    @property
    def too_large(self) -> bool:
        return bool(self.limit) and self.size > self.limit


def raw_yaml(obj: GitOpsObject, limit: int) -> RawYaml:
    """The raw YAML block, from ``raw_capped`` (see find_object): empty when over the limit."""
    size = getattr(obj, "raw_size", 0) or 0
    raw = getattr(obj, "raw_capped", None)
    if not limit or size > limit:
        return RawYaml("", False, size, limit)
    text, truncated = raw_as_yaml(raw)
    return RawYaml(text, truncated, size, limit)


def raw_as_yaml(raw: Any) -> tuple[str, bool]:
    """The stored object (already without managedFields) as kubectl would print it: keys sorted,
    which also undoes PostgreSQL's jsonb key order."""
    text = yaml.dump(raw or {}, Dumper=SafeDumper, sort_keys=True, allow_unicode=True, width=120)
    if len(text) > RAW_YAML_LIMIT:
        return text[:RAW_YAML_LIMIT], True
    return text, False


def _details(obj: GitOpsObject) -> dict[str, Any]:
    return obj.details if isinstance(obj.details, dict) else {}


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


@dataclass(frozen=True)
class ActionTaken:
    """One audited attempt on the object, as its History shows it."""

    at: datetime
    user: str
    action: str
    outcome: str
    message: str
    icon: str
    tone: str
    text: str


def actions_history(obj: GitOpsObject, limit: int) -> tuple[list[ActionTaken], int]:
    """The newest ``limit`` actions attempted on ``obj`` and how many are kept (one query, a
    count only past the limit). With actions off: none, and no query, so a read-only install's
    page is what it always was."""
    if settings.TIDEWATCH_ACTIONS == "off":
        return [], 0
    who = Identity(obj.cluster.name, obj.kind, obj.namespace, obj.name)
    rows = list(attempts(who)[: limit + 1])
    total = len(rows) if len(rows) <= limit else attempts(who).count()
    taken = []
    for row in rows[:limit]:
        badge = outcome_badge(row.outcome)
        taken.append(
            ActionTaken(
                row.created_at,
                row.user,
                row.action,
                row.outcome,
                row.message,
                badge.icon,
                badge.tone,
                badge.text,
            )
        )
    return taken, total
