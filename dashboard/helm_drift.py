"""Reads for Flux drift (docs/flux-drift.md): the object page's drift section and the overview's
count of drifted HelmReleases, from the store only.

The normalizer keeps what the HelmRelease itself says (its mode and ``Drifted`` condition) in
``details["drift"]``; Events arrive apart from the object, so the page adds the drift Events it
stores (one query, the newest few) to say how a correction went, or to stand in for the
condition with helm-controller older than v1.6.0. The overview counts what the object says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from clusters.models import Event, GitOpsObject
from clusters.status.drift import (
    CHECKING_MODES,
    CORRECTED,
    CORRECTION_FAILED,
    DRIFT_EVENT_REASONS,
    DRIFTED,
    DRIFTED_CONDITION,
    IN_SYNC,
    NOT_REPORTED,
    OFF,
    DriftFinding,
    DriftReport,
    drift_finding,
)
from clusters.status.flux import HELM_GROUP
from clusters.status.record import Condition

# Enough to hold the newest of each drift reason: Kubernetes aggregates repeats into one Event.
DRIFT_EVENTS = 10
# Drifted HelmReleases the overview names before it says "and N more".
OVERVIEW_NAMED = 5

STATE_BADGE = {
    CORRECTION_FAILED: ("✕", "bad", "Correction failed"),
    DRIFTED: ("≠", "warn", "Drifted"),
    NOT_REPORTED: ("?", "muted", "Not reported"),
    CORRECTED: ("✓", "ok", "Corrected"),
    IN_SYNC: ("✓", "ok", "No drift"),
    OFF: ("–", "muted", "Off"),
}
MODE_TEXT = {
    "warn": "warn — helm-controller detects drift and reports it, and corrects nothing",
    "enabled": "enabled — helm-controller detects drift and corrects it",
    "disabled": "disabled — helm-controller does not look for drift",
}


@dataclass(frozen=True)
class DriftReportRow:
    title: str
    report: DriftReport
    message: str  # "" when it repeats the row above word for word


@dataclass(frozen=True)
class DriftView:
    finding: DriftFinding
    icon: str
    tone: str
    label: str
    mode_text: str
    latest_event: DriftReport | None = None  # the newest drift Event, whatever it says

    @property
    def reports(self) -> list[DriftReportRow]:
        """What helm-controller said, each with where it said it; the newest Event too, which
        says whether it still reports (every interval) what the condition says."""
        rows: list[DriftReportRow] = []
        seen: list[DriftReport] = []
        for title, report in (
            ("Reported", self.finding.reported),
            ("Correction", self.finding.correction),
            ("Latest Event", self.latest_event),
        ):
            if report is None or report in seen:
                continue
            repeated = any(report.message == other.message for other in seen)
            rows.append(DriftReportRow(title, report, "" if repeated else report.message))
            seen.append(report)
        return rows


def drift_view(obj: GitOpsObject) -> DriftView | None:
    """The drift section of a HelmRelease's page: None for other kinds, and for a release stored
    before the drift finding existed (it appears with the object's next change)."""
    if obj.kind != "HelmRelease" or obj.group != HELM_GROUP:
        return None
    stored = (obj.details or {}).get("drift") if isinstance(obj.details, dict) else None
    if not isinstance(stored, dict):
        return None
    mode = str(stored.get("mode", ""))
    events = _drift_events(obj) if mode in CHECKING_MODES else []
    finding = drift_finding(mode, _drifted_condition(obj), events)
    icon, tone, label = STATE_BADGE[finding.state]
    mode_text = MODE_TEXT.get(finding.mode, finding.mode)
    # Newest first from the query.
    return DriftView(finding, icon, tone, label, mode_text, events[0] if events else None)


def _drifted_condition(obj: GitOpsObject) -> Condition | None:
    for item in obj.conditions if isinstance(obj.conditions, list) else []:
        if isinstance(item, dict) and item.get("type") == DRIFTED_CONDITION:
            return Condition(
                DRIFTED_CONDITION,
                str(item.get("status", "")),
                str(item.get("reason") or ""),
                str(item.get("message") or ""),
                item.get("last_transition_time"),
            )
    return None


def _drift_events(obj: GitOpsObject) -> list[DriftReport]:
    """One query, on the Event index (cluster, kind, namespace, name)."""
    rows = Event.objects.filter(
        cluster_id=obj.cluster_id,
        involved_kind=obj.kind,
        involved_namespace=obj.namespace,
        involved_name=obj.name,
        reason__in=DRIFT_EVENT_REASONS,
    ).order_by("-last_seen", "-id")[:DRIFT_EVENTS]
    return [_report(row) for row in rows]


def _report(row: Event) -> DriftReport:
    at: datetime | None = row.last_seen or row.first_seen
    return DriftReport("event", row.reason, row.message, at, row.type, row.count)


@dataclass(frozen=True)
class DriftedRelease:
    cluster: str
    namespace: str
    name: str


@dataclass(frozen=True)
class DriftedReleases:
    total: int
    named: list[DriftedRelease]

    @property
    def more(self) -> int:
        return self.total - len(self.named)


def drifted_rows() -> QuerySet[GitOpsObject]:
    """The HelmReleases whose stored drift finding is a problem (the overview's count and its
    live fingerprint: dashboard/changes.py)."""
    return GitOpsObject.objects.filter(
        Q(details__drift__problem=True), group=HELM_GROUP, kind="HelmRelease"
    )


def drifted_helmreleases(cluster: str | None = None) -> DriftedReleases:
    """HelmReleases whose drift is a problem: one query (a second, a count, only when more
    than OVERVIEW_NAMED are drifted)."""
    rows = drifted_rows()
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    found = list(
        rows.order_by("cluster__name", "namespace", "name").values_list(
            "cluster__name", "namespace", "name"
        )[: OVERVIEW_NAMED + 1]
    )
    total = len(found) if len(found) <= OVERVIEW_NAMED else rows.count()
    named = [DriftedRelease(*row) for row in found]
    return DriftedReleases(total, named[:OVERVIEW_NAMED])
