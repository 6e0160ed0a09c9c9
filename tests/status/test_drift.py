"""HelmRelease drift findings (clusters/status/drift.py), and how the Flux normalizer uses them.

Messages are helm-controller v1.6.3's own formats (internal/reconcile/atomic_release.go and
correct_cluster_drift.go, internal/diff/summarize.go): docs/flux-drift.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from clusters.status.drift import (
    CORRECTED,
    CORRECTION_FAILED,
    DRIFTED,
    IN_SYNC,
    NOT_REPORTED,
    OFF,
    DriftReport,
    drift_finding,
)
from clusters.status.normalize import normalize
from clusters.status.record import Condition
from clusters.status.vocabulary import Status, Sync

DETECTED = (
    "Cluster state of release cert-manager/cert-manager.v3 has drifted from the desired state:\n"
    "Deployment/cert-manager/cert-manager changed (0 additions, 1 changes, 0 removals)"
)
NO_DRIFT = "No drift detected against the cluster state"
CORRECTED_MSG = (
    "Cluster state of release cert-manager/cert-manager.v3 has been corrected:\n"
    "Deployment/cert-manager/cert-manager configured"
)
FAILED_MSG = (
    "Failed to correct cluster state of release cert-manager/cert-manager.v3:\n"
    "Deployment/cert-manager/cert-manager patch failure: admission webhook denied the request"
)


def at(minute: int) -> datetime:
    return datetime(2026, 12, 1, 10, minute, tzinfo=UTC)


def drifted(minute: int = 0) -> Condition:
    return Condition("Drifted", "True", "DriftDetected", DETECTED, at(minute).isoformat())


def not_drifted(minute: int = 0) -> Condition:
    return Condition("Drifted", "False", "NoDriftDetected", NO_DRIFT, at(minute).isoformat())


def ev(reason: str, minute: int, message: str = "") -> DriftReport:
    kind = "Normal" if reason == "DriftCorrected" else "Warning"
    text = message or {
        "DriftDetected": DETECTED,
        "DriftCorrected": CORRECTED_MSG,
        "DriftCorrectionFailed": FAILED_MSG,
    }.get(reason, "other")
    return DriftReport("event", reason, text, at(minute), kind, 1)


# What is reported: (source, reason).
BY_CONDITION = ("condition", "DriftDetected")
BY_NO_DRIFT = ("condition", "NoDriftDetected")
DET, FIX, FAIL = "DriftDetected", "DriftCorrected", "DriftCorrectionFailed"

# name, mode, Drifted condition, events -> state, problem, tone, what is reported
CASES = [
    ("unset is disabled", "", drifted(), [], OFF, False, "muted", None),
    ("disabled: a leftover condition", "disabled", drifted(), [], OFF, False, "muted", None),
    ("warn + Drifted=True", "warn", drifted(), [], DRIFTED, True, "warn", BY_CONDITION),
    ("warn + Drifted=False", "warn", not_drifted(), [ev(DET, 1)], IN_SYNC, False, "ok",
     BY_NO_DRIFT),
    ("warn, events only (< v1.6)", "warn", None, [ev(DET, 3)], DRIFTED, True, "warn",
     ("event", DET)),
    ("warn never corrects", "warn", drifted(), [ev(FAIL, 2)], DRIFTED, True, "warn",
     BY_CONDITION),
    ("enabled, nothing yet", "enabled", None, [], NOT_REPORTED, False, "muted", None),
    ("enabled + corrected", "enabled", not_drifted(5), [ev(DET, 4), ev(FIX, 5)], CORRECTED,
     False, "ok", BY_NO_DRIFT),
    ("enabled + failed", "enabled", drifted(6), [ev(FAIL, 6), ev(DET, 6)], CORRECTION_FAILED,
     True, "bad", BY_CONDITION),
    ("enabled + pending", "enabled", drifted(), [], DRIFTED, True, "warn", BY_CONDITION),
    ("enabled, events, fixed last", "enabled", None, [ev(FIX, 9), ev(DET, 8)], CORRECTED,
     False, "ok", ("event", FIX)),
    ("enabled, events, failed last", "enabled", None, [ev(DET, 8), ev(FAIL, 9)],
     CORRECTION_FAILED, True, "bad", ("event", FAIL)),
    ("other events", "warn", None, [ev("UpgradeSucceeded", 1)], NOT_REPORTED, False, "muted",
     None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "condition", "events", "state", "problem", "tone", "reported"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_drift_finding(
    mode: str,
    condition: Condition | None,
    events: list[DriftReport],
    state: str,
    problem: bool,
    tone: str,
    reported: tuple[str, str] | None,
) -> None:
    finding = drift_finding(mode, condition, events)
    assert (finding.state, finding.problem, finding.tone) == (state, problem, tone)
    got = (finding.reported.source, finding.reported.reason) if finding.reported else None
    assert got == reported
    assert finding.sentence


def test_a_failed_correction_keeps_both_messages_word_for_word() -> None:
    finding = drift_finding("enabled", drifted(6), [ev("DriftCorrectionFailed", 6)])
    assert finding.reported is not None and finding.reported.message == DETECTED
    assert finding.correction is not None and finding.correction.message == FAILED_MSG
    assert finding.as_json()["correction"] == {
        "source": "event",
        "reason": "DriftCorrectionFailed",
        "message": FAILED_MSG,
        "at": "2026-12-01T10:06:00+00:00",
        "type": "Warning",
        "count": 1,
    }


# -- the normalizer ------------------------------------------------------------------------------


UPGRADED = (
    "Helm upgrade succeeded for release cert-manager/cert-manager.v3 with chart cert-manager@1.18.2"
)


def helmrelease(mode: str | None, *conditions: dict[str, Any]) -> dict[str, Any]:
    source = {"kind": "HelmRepository", "name": "jetstack"}
    spec: dict[str, Any] = {
        "interval": "10m",
        "chart": {"spec": {"chart": "cert-manager", "sourceRef": source}},
    }
    if mode is not None:
        spec["driftDetection"] = {"mode": mode}
    released = {
        "status": "True",
        "reason": "UpgradeSucceeded",
        "message": UPGRADED,
        "lastTransitionTime": "2026-12-01T09:00:00Z",
    }
    snapshot = {"chartName": "cert-manager", "chartVersion": "1.18.2", "status": "deployed"}
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "cert-manager", "namespace": "cert-manager", "generation": 2},
        "spec": spec,
        "status": {
            "observedGeneration": 2,
            "conditions": [
                {"type": "Ready", **released},
                {"type": "Released", **released},
                *conditions,
            ],
            "history": [{**snapshot, "version": 3}],
            "lastAttemptedRevision": "1.18.2",
        },
    }


DRIFTED_CONDITION = {
    "type": "Drifted",
    "status": "True",
    "reason": "DriftDetected",
    "message": DETECTED,
    "lastTransitionTime": "2026-12-01T10:00:00Z",
}
NOT_DRIFTED_CONDITION = {**DRIFTED_CONDITION, "status": "False", "reason": "NoDriftDetected"}
NOT_DRIFTED_CONDITION["message"] = NO_DRIFT


@pytest.mark.parametrize(
    ("mode", "conditions", "sync", "reason", "drift_state"),
    [
        ("warn", [DRIFTED_CONDITION], Sync.OUT_OF_SYNC, "DriftDetected", DRIFTED),
        ("enabled", [DRIFTED_CONDITION], Sync.OUT_OF_SYNC, "DriftDetected", DRIFTED),
        ("warn", [NOT_DRIFTED_CONDITION], Sync.SYNCED, "UpgradeSucceeded", IN_SYNC),
        ("disabled", [DRIFTED_CONDITION], Sync.SYNCED, "UpgradeSucceeded", OFF),
        (None, [], Sync.SYNCED, "UpgradeSucceeded", OFF),
    ],
)
def test_a_reported_drift_makes_a_ready_release_out_of_sync(
    mode: str | None,
    conditions: list[dict[str, Any]],
    sync: Sync,
    reason: str,
    drift_state: str,
) -> None:
    record = normalize(helmrelease(mode, *conditions))
    assert record.status is Status.HEALTHY  # helm-controller keeps Ready=True
    assert (record.sync, record.reason) == (sync, reason)
    assert record.details["drift"]["state"] == drift_state
    if reason == "DriftDetected":
        assert record.message == DETECTED  # helm-controller's message, word for word
        assert record.details["drift"]["reported"]["message"] == DETECTED
        assert record.details["drift"]["problem"] is True


def test_a_failing_release_keeps_its_failure_as_the_reason() -> None:
    obj = helmrelease("warn", DRIFTED_CONDITION)
    obj["status"]["conditions"][0].update(status="False", reason="UpgradeFailed", message="boom")
    record = normalize(obj)
    assert (record.status, record.reason, record.sync) == (
        Status.DEGRADED,
        "UpgradeFailed",
        Sync.OUT_OF_SYNC,
    )
    assert record.details["drift"]["problem"] is True
