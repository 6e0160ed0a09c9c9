"""HelmRelease drift: what helm-controller reported about the cluster differing from the release
(pure; docs/flux-drift.md has the strings and where helm-controller writes them).

With ``spec.driftDetection.mode`` ``warn`` or ``enabled``, helm-controller compares the release
manifest with the cluster (a server-side dry-run apply) whenever the release itself is in sync.
It reports in two places:

- the ``Drifted`` condition (helm-controller >= v1.6.0, Flux 2.9): ``True``/``DriftDetected``
  with the message of the event below, or ``False``/``NoDriftDetected`` "No drift detected
  against the cluster state". It is the current state; Ready stays True either way.
- Events: Warning ``DriftDetected`` "Cluster state of release <ns>/<name>.v<N> has drifted from
  the desired state:\\n<Kind>/<ns>/<name> changed (a additions, c changes, r removals)" (one line
  per object, "removed" for a deleted one); with mode ``enabled`` then Normal ``DriftCorrected``
  "Cluster state of release ... has been corrected:\\n<Kind>/<ns>/<name> configured" or Warning
  ``DriftCorrectionFailed`` "Failed to [partially ]correct cluster state of release ...:".

The condition wins when present; Events stand in for it with older controllers (and are
what says how a correction went). Drift in ``warn`` mode is a problem: nothing corrects it. In
``enabled`` mode a drift still reported is a problem (red when the correction failed); a
correction without drift left is information.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clusters.status.record import Condition

DRIFTED_CONDITION = "Drifted"
DRIFT_DETECTED = "DriftDetected"
NO_DRIFT_DETECTED = "NoDriftDetected"
DRIFT_CORRECTED = "DriftCorrected"
DRIFT_CORRECTION_FAILED = "DriftCorrectionFailed"
DRIFT_EVENT_REASONS = (DRIFT_DETECTED, DRIFT_CORRECTED, DRIFT_CORRECTION_FAILED)
CORRECTION_REASONS = (DRIFT_CORRECTED, DRIFT_CORRECTION_FAILED)

DISABLED, WARN, ENABLED = "disabled", "warn", "enabled"
CHECKING_MODES = (WARN, ENABLED)

# Finding states, worst first.
CORRECTION_FAILED = "correction-failed"
DRIFTED = "drifted"
NOT_REPORTED = "not-reported"
CORRECTED = "corrected"
IN_SYNC = "in-sync"
OFF = "off"


@dataclass(frozen=True)
class DriftReport:
    """One statement of helm-controller, word for word: a condition or an Event."""

    source: str  # "condition" | "event"
    reason: str
    message: str
    at: datetime | None
    event_type: str = ""  # Normal / Warning, for an Event
    count: int = 0  # how often the Event was emitted


@dataclass(frozen=True)
class DriftFinding:
    mode: str  # disabled | warn | enabled (what the spec asks for)
    state: str  # one of the states above
    problem: bool
    tone: str  # palette tone: bad, warn, ok, muted
    sentence: str  # why, in one sentence
    reported: DriftReport | None = None  # what says drifted or not
    correction: DriftReport | None = None  # the newest correction Event (mode enabled)

    def as_json(self) -> dict[str, Any]:
        """camelCase, as stored in the object's ``details`` and served by the JSON API."""
        return {
            "mode": self.mode,
            "state": self.state,
            "problem": self.problem,
            "tone": self.tone,
            "sentence": self.sentence,
            "reported": _report_json(self.reported),
            "correction": _report_json(self.correction),
        }


def drift_mode(value: Any) -> str:
    """``spec.driftDetection.mode``; helm-controller treats unset as disabled."""
    return value if value in (WARN, ENABLED, DISABLED) else DISABLED


def condition_report(condition: Condition | None) -> DriftReport | None:
    if condition is None or condition.status not in ("True", "False"):
        return None
    return DriftReport(
        "condition", condition.reason, condition.message, _parse(condition.last_transition_time)
    )


def drift_finding(
    mode: str, condition: Condition | None, events: Iterable[DriftReport] = ()
) -> DriftFinding:
    """The finding for one HelmRelease from its mode, its ``Drifted`` condition and the drift
    Events stored about it (any order; other reasons are ignored)."""
    mode = drift_mode(mode)
    if mode not in CHECKING_MODES:
        # A Drifted condition from when detection was on is left behind: it is not current.
        return DriftFinding(
            mode,
            OFF,
            False,
            "muted",
            "Drift detection is disabled: helm-controller does not compare the cluster with "
            "the release (spec.driftDetection.mode: warn or enabled turns it on).",
        )
    drift_events = [e for e in events if e.reason in DRIFT_EVENT_REASONS]
    newest = _newest(drift_events)
    correction = _newest([e for e in drift_events if e.reason in CORRECTION_REASONS])
    if mode != ENABLED:
        correction = None  # warn mode never corrects; an old Event predates the switch
    reported = condition_report(condition) or newest
    if reported is None:
        return DriftFinding(
            mode,
            NOT_REPORTED,
            False,
            "muted",
            "helm-controller has not reported on drift: no Drifted condition (set from "
            "helm-controller v1.6.0) and no drift Event stored.",
        )
    if reported.source == "condition":
        drifted = condition is not None and condition.status == "True"
    else:
        drifted = reported.reason != DRIFT_CORRECTED
    if not drifted:
        if correction is not None and correction.reason == DRIFT_CORRECTED:
            return DriftFinding(
                mode,
                CORRECTED,
                False,
                "ok",
                "helm-controller corrected drift from the release; none is reported now.",
                reported,
                correction,
            )
        return DriftFinding(mode, IN_SYNC, False, "ok", "No drift reported.", reported, correction)
    if correction is not None and correction.reason == DRIFT_CORRECTION_FAILED:
        return DriftFinding(
            mode,
            CORRECTION_FAILED,
            True,
            "bad",
            "The cluster has drifted from the release and helm-controller failed to correct it.",
            reported,
            correction,
        )
    if mode == WARN:
        sentence = (
            "The cluster has drifted from the release and nothing corrects it: drift "
            "detection is in warn mode."
        )
    else:
        sentence = "The cluster has drifted from the release and is not corrected yet."
    return DriftFinding(mode, DRIFTED, True, "warn", sentence, reported, correction)


def _newest(reports: list[DriftReport]) -> DriftReport | None:
    dated = [r for r in reports if r.at is not None]
    if dated:
        return max(dated, key=lambda r: r.at or datetime.min)
    return reports[0] if reports else None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _report_json(report: DriftReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    out: dict[str, Any] = {
        "source": report.source,
        "reason": report.reason,
        "message": report.message,
        "at": report.at.isoformat() if report.at else None,
    }
    if report.source == "event":
        out["type"] = report.event_type
        out["count"] = report.count
    return out
