"""The demo cluster's controllers react to what `flux` and Argo CD write, as the real ones do.

The scripted timeline (``clusters.demo.timeline``) plays incidents; this module answers requests:

- Flux, every kind whose status records ``lastHandledReconcileAt`` (Kustomization, HelmRelease,
  the sources, the image kinds, Receiver; Alert and Provider v1beta3 are static and have none):
  a ``reconcile.fluxcd.io/requestedAt`` value the status has not handled yet starts a reconcile.
  The first tick writes Reconciling=True / Ready=Unknown (Progressing); the next writes the
  outcome together with ``lastHandledReconcileAt``, as the controllers' deferred status patch
  does. A HelmRelease also honours ``reconcile.fluxcd.io/forceAt`` / ``resetAt`` when their value
  equals requestedAt (fluxcd/pkg ``HandleAnnotationRequest``): ``lastHandledForceAt`` /
  ``lastHandledResetAt``, a forced upgrade (a new history snapshot) and cleared failure counters.
- ``spec.suspend: true``: nothing but ``lastHandledReconcileAt`` is written for a request (the
  controllers return early, their deferred patch still records it), and the timeline leaves the
  object alone. Resuming (``suspend`` removed, as ``flux resume`` patches it) reconciles it.
- Argo CD Application: ``argocd.argoproj.io/refresh`` (normal or hard) is consumed (removed with
  ``refresh-timestamp``) and ``status.reconciledAt`` moves; a hard refresh also re-computes the
  sync status from the resources. An ``operation`` that is not in progress yet is run: Running
  (``operationState`` with startedAt), then Succeeded (finishedAt, syncResult, a history entry
  with initiatedBy, Synced, health Progressing, ``operation`` removed), then Healthy. An
  ``operationState.phase: Terminating`` (as ``argocd app terminate-op`` writes it) ends the
  operation Failed, "Operation terminated".

Whether a retry fixes a Flux failure depends on its cause, read from the failure message
(``retry_outcome``): a timeout or refused connection is transient and heals; an immutable field or
an admission webhook denial (bad chart values) fails again. Helm's forced upgrade replaces
resources, so ``--force`` fixes an immutable-field failure.

Nothing runs on its own clock: ``tick()`` looks at what changed since the last tick (the store's
watch log) and moves every reaction one phase on; ``start()`` ticks from a thread, at once when
something is written and every ``tick_seconds`` while a reaction is under way. Timestamps come from
``clock``, so tests can pin them. Writes go through the same path as the timeline's: merge patches,
admission (prune + CRD validation), managedFields of the controller's field manager, watch events.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from clusters.demo.crds import find_crd
from clusters.demo.fields import group_kind, record_write
from clusters.demo.scenario import Obj, release_snapshot
from clusters.demo.server import DemoCluster, merge_patch
from clusters.demo.store import ExpiredError
from clusters.demo.timeline import (
    APPLICATION,
    ARGOCD_CONTROLLER,
    HELM_CONTROLLER,
    HELMRELEASE,
    KUSTOMIZATION,
    KUSTOMIZE_CONTROLLER,
    SOURCE_CONTROLLER_NAME,
    SYNC_RUNNING,
    GroupKind,
    ObjectMissing,
    _copy,
    _go_duration,
    _health,
    _ks_ready,
    _ks_waits,
    _out_of_sync,
    _Release,
    _status,
    _sync_result,
    _World,
    drop_condition,
    emit_sync_succeeded,
    find_condition,
    is_suspended,
    set_condition,
    set_conditions,
    synced_application,
    truncate_helm_history,
)

logger = logging.getLogger(__name__)

DEFAULT_TICK_SECONDS = 2.0
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"
REFRESH = "argocd.argoproj.io/refresh"
REFRESH_TIMESTAMP = "argocd.argoproj.io/refresh-timestamp"
OPERATION_TERMINATED = "Operation terminated"
# OperationState phases in which the controller is still working on the operation.
IN_PROGRESS = ("Running", "Terminating")

# Failure causes a retry gets past (the network or the API server came back) ...
TRANSIENT_CAUSES = (
    "i/o timeout",
    "timeout waiting for",
    "context deadline exceeded",
    "connection refused",
    "connection reset",
    "TLS handshake timeout",
    "no such host",
    "the server is currently unable to handle the request",
    "health check failed",
)
# Reasons that are no failure of the object's own: waiting on a dependency, still working.
TRANSIENT_REASONS = ("DependencyNotReady", "Progressing", "HealthCheckFailed")
# ... and the ones only Helm's replacement strategy (``--force``) gets past.
FORCE_FIXES = ("field is immutable",)

ObjKey = tuple[str, str, str, str]  # group, kind, namespace, name
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# A phase gets the tick's world, the object as stored now, and what earlier phases noted.
Phase = Callable[["_Reactor", Obj, Obj], str]


def key_of(obj: Obj) -> ObjKey:
    group, kind = group_kind(obj)
    meta = obj.get("metadata") or {}
    return (group, kind, meta.get("namespace") or "", meta.get("name") or "")


# --- what an object asks for (pure) --------------------------------------------------------------


@cache
def handles_reconcile_requests(api_version: str, kind: str) -> bool:
    """Whether this Flux kind's status has ``lastHandledReconcileAt`` (its controller reconciles
    on request); read from the CRD so a new kind needs no list here."""
    if not api_version.rpartition("/")[0].endswith(".fluxcd.io"):
        return False
    crd = find_crd(api_version, kind)
    if crd is None:
        return False
    status = crd.schema.get("properties", {}).get("status", {})
    return "lastHandledReconcileAt" in status.get("properties", {})


def _annotations(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def reconcile_requested(obj: Obj) -> str | None:
    """The requestedAt value a Flux object's controller has not handled yet, if any."""
    if not handles_reconcile_requests(obj.get("apiVersion", ""), obj.get("kind", "")):
        return None
    value = _annotations(obj).get(REQUESTED_AT)
    if value is None or value == (obj.get("status") or {}).get("lastHandledReconcileAt"):
        return None
    return value


def annotation_request(obj: Obj, annotation: str, last_handled: str) -> tuple[bool, str | None]:
    """fluxcd/pkg meta.HandleAnnotationRequest: (act on it, value to record as handled).

    The request counts only with the same value as requestedAt, and once per value; the value is
    recorded as handled even when it does not count.
    """
    annotations = _annotations(obj)
    status = obj.get("status") or {}
    request = annotations.get(annotation)
    if request is None:
        return False, None
    act = (
        request == annotations.get(REQUESTED_AT)
        and status.get("lastHandledReconcileAt") != request
        and status.get(last_handled) != request
    )
    return act, request


def refresh_requested(obj: Obj) -> str | None:
    if group_kind(obj) != APPLICATION:
        return None
    return _annotations(obj).get(REFRESH)


def operation_requested(obj: Obj) -> bool:
    """An ``operation`` the controller has not started: argocd-server clears operationState when
    it sets one; a merge patch may leave the last finished state there."""
    if group_kind(obj) != APPLICATION or not obj.get("operation"):
        return False
    phase = ((obj.get("status") or {}).get("operationState") or {}).get("phase")
    return phase not in IN_PROGRESS


def terminate_requested(obj: Obj) -> bool:
    state = (obj.get("status") or {}).get("operationState") or {}
    return group_kind(obj) == APPLICATION and state.get("phase") == "Terminating"


def retry_outcome(condition: Obj | None, *, force: bool = False) -> bool:
    """Whether retrying what left this (Ready or Released) condition succeeds now."""
    if condition is None or condition.get("status") != "False":
        return True
    if condition.get("reason") in TRANSIENT_REASONS:
        return True
    message = condition.get("message", "")
    if force and any(cause in message for cause in FORCE_FIXES):
        return True
    return any(cause in message for cause in TRANSIENT_CAUSES)


def _ready(obj: Obj) -> Obj | None:
    return find_condition((obj.get("status") or {}).get("conditions") or [], "Ready")


def _ready_status(obj: Obj) -> str:
    ready = _ready(obj)
    return ready.get("status", "Unknown") if ready else "Unknown"


# --- one reaction in flight ----------------------------------------------------------------------


@dataclass
class _Job:
    key: ObjKey
    what: str  # "reconcile", "sync", ...: one job of each per object at a time
    phases: list[Phase]
    memo: Obj = field(default_factory=dict)


class _Reactor(_World):
    """A tick's world, plus status fields to record in the next write of an object (the
    lastHandled* values go out with the outcome, in one status patch, as the controllers do)."""

    def __init__(
        self, cluster: DemoCluster, now: datetime, emitted: dict[tuple[str, str], datetime]
    ) -> None:
        super().__init__(cluster, now, emitted)
        self.stamp: dict[ObjKey, Obj] = {}

    def update(self, gk: GroupKind, old: Obj, new: Obj) -> Obj:
        extra = self.stamp.pop(key_of(old), None)
        if extra:
            new = {**new, "status": {**(new.get("status") or {}), **extra}}
        return super().update(gk, old, new)

    def write_metadata(self, obj: Obj, metadata: Obj, manager: str) -> Obj:
        """A metadata patch (the refresh annotation's removal), recorded as ``manager``'s."""
        patch: Obj = {"metadata": metadata}
        entries = record_write(obj, merge_patch(obj, patch), manager, self.ts)
        if entries is not None:
            patch["metadata"] = {**metadata, "managedFields": entries}
        group, kind, namespace, name = key_of(obj)
        return self.cluster.patch(group, kind, namespace or None, name, patch)


# --- Flux: reconcile ----------------------------------------------------------------------------


def _component(gk: GroupKind) -> str:
    if gk == HELMRELEASE:
        return HELM_CONTROLLER
    if gk == KUSTOMIZATION:
        return KUSTOMIZE_CONTROLLER
    if gk[0] == "source.toolkit.fluxcd.io":
        return SOURCE_CONTROLLER_NAME
    if gk[0] == "image.toolkit.fluxcd.io":
        return (
            "image-automation-controller"
            if gk[1] == "ImageUpdateAutomation"
            else "image-reflector-controller"
        )
    return "notification-controller"


def _source_revision(w: _World, obj: Obj) -> str:
    """The artifact revision a Kustomization's source has now (what it would apply)."""
    ref = obj["spec"].get("sourceRef") or {}
    namespace = ref.get("namespace") or obj["metadata"]["namespace"]
    try:
        source = w.get(("source.toolkit.fluxcd.io", ref.get("kind", "")), namespace, ref["name"])
    except (ObjectMissing, KeyError):
        source = {}
    revision = ((source.get("status") or {}).get("artifact") or {}).get("revision")
    status = obj.get("status") or {}
    return revision or status.get("lastAttemptedRevision") or status.get("lastAppliedRevision", "")


def _progressing_message(w: _World, obj: Obj) -> str:
    gk = group_kind(obj)
    timeout = _go_duration((obj.get("spec") or {}).get("timeout", "5m0s"))
    if gk == KUSTOMIZATION:
        revision = _source_revision(w, obj)
        return f"Fetching manifests for revision {revision} with a timeout of {timeout}"
    if gk == HELMRELEASE:
        return "Fulfilling prerequisites"
    return "reconciliation in progress"


def flux_progressing(w: _Reactor, obj: Obj, memo: Obj) -> str:
    """First write of a reconcile: Reconciling=True, Ready=Unknown, both Progressing."""
    # The outcome depends on why it was not Ready; Progressing overwrites that.
    memo["ready"] = _ready(obj)
    generation = obj["metadata"].get("generation")
    message = _progressing_message(w, obj)
    new = _copy(obj)
    status = _status(new)
    status["conditions"] = set_condition(
        status.get("conditions") or [],
        "Reconciling",
        "True",
        "Progressing",
        message,
        w.ts,
        generation,
    )
    status["conditions"] = set_condition(
        status["conditions"],
        "Ready",
        "Unknown",
        "Progressing",
        "Reconciliation in progress",
        w.ts,
        generation,
    )
    w.update(group_kind(obj), obj, new)
    return f"{obj['kind']} {_ref(obj)}: reconciling (Progressing)"


def _ref(obj: Obj) -> str:
    return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


def _handled(obj: Obj) -> Obj:
    """What the deferred status patch records for the request it saw."""
    value = _annotations(obj).get(REQUESTED_AT)
    return {"lastHandledReconcileAt": value} if value is not None else {}


def flux_outcome(w: _Reactor, obj: Obj, memo: Obj) -> str:
    """Second write: the reconcile's result, with lastHandledReconcileAt."""
    gk = group_kind(obj)
    before = memo["ready"] if "ready" in memo else _ready(obj)
    if is_suspended(obj):
        return _record_only(w, obj, before, "suspended: request recorded, nothing reconciled")
    w.stamp[key_of(obj)] = _handled(obj)
    if gk == KUSTOMIZATION:
        return _kustomization_outcome(w, obj, before)
    if gk == HELMRELEASE:
        return _helmrelease_outcome(w, obj, before)
    return _generic_outcome(w, obj, before)


def _record_only(w: _Reactor, obj: Obj, before: Obj | None, what: str) -> str:
    """Suspended mid-way: the request is recorded, Ready says again what it said before."""
    new = _copy(obj)
    status = _status(new)
    status.update(_handled(obj))
    conditions = drop_condition(status.get("conditions") or [], "Reconciling")
    conditions = drop_condition(conditions, "Ready")
    if before is not None:
        conditions = set_condition(
            conditions,
            "Ready",
            before["status"],
            before["reason"],
            before["message"],
            before["lastTransitionTime"],
            before.get("observedGeneration"),
        )
    status["conditions"] = conditions
    w.update(group_kind(obj), obj, new)
    return f"{obj['kind']} {_ref(obj)}: {what}"


def _kustomization_outcome(w: _Reactor, ks: Obj, before: Obj | None) -> str:
    namespace = ks["metadata"]["namespace"]
    for dependency in ks["spec"].get("dependsOn") or []:
        dep = (dependency.get("namespace") or namespace, dependency["name"])
        try:
            ready = _ready_status(w.get(KUSTOMIZATION, *dep)) == "True"
        except ObjectMissing:
            ready = False
        if not ready:
            _ks_waits(w, ks, dep)
            return f"Kustomization {_ref(ks)}: dependency {dep[0]}/{dep[1]} not ready"
    if not retry_outcome(before):
        return _fails_again(w, ks, before or {}, KUSTOMIZE_CONTROLLER)
    revision = _source_revision(w, ks)
    _ks_ready(w, ks, revision)
    return f"Kustomization {_ref(ks)}: applied {revision} (Ready)"


def _fails_again(w: _Reactor, obj: Obj, ready: Obj, component: str) -> str:
    """The retry hit the same cause: the failure stands, Reconciling says it will retry."""
    generation = obj["metadata"].get("generation")
    message = ready.get("message", "")
    new = _copy(obj)
    status = _status(new)
    conditions = status.get("conditions") or []
    conditions = set_condition(
        conditions, "Reconciling", "True", "ProgressingWithRetry", message, w.ts, generation
    )
    conditions = set_condition(
        conditions, "Ready", "False", ready.get("reason", "Failed"), message, w.ts, generation
    )
    status["conditions"] = conditions
    w.update(group_kind(obj), obj, new)
    w.emit(obj, ready.get("reason", "Failed"), message, component=component, warning=True)
    return f"{obj['kind']} {_ref(obj)}: failed again ({ready.get('reason', 'Failed')})"


def _generic_outcome(w: _Reactor, obj: Obj, before: Obj | None) -> str:
    """Sources, image and notification kinds: Ready again with what they hold, unless the
    cause of their failure is still there."""
    gk = group_kind(obj)
    component = _component(gk)
    ready = before or {}
    if not retry_outcome(before):
        return _fails_again(w, obj, ready, component)
    generation = obj["metadata"].get("generation")
    artifact = (obj.get("status") or {}).get("artifact") or {}
    if ready.get("status") == "True":
        message, reason = ready.get("message", ""), ready.get("reason", "Succeeded")
    elif artifact:
        message, reason = (
            f"stored artifact for revision '{artifact.get('revision', '')}'",
            "Succeeded",
        )
    else:
        message, reason = "reconciliation succeeded", "Succeeded"
    new = _copy(obj)
    status = _status(new)
    conditions = drop_condition(status.get("conditions") or [], "Reconciling")
    conditions = drop_condition(conditions, "FetchFailed")
    conditions = drop_condition(conditions, "Stalled")
    changes = [("Ready", "True", reason)]
    if artifact:
        changes.append(("ArtifactInStorage", "True", reason))
    status["conditions"] = set_conditions(conditions, changes, message, w.ts, generation)
    status["observedGeneration"] = generation
    w.update(gk, obj, new)
    if ready.get("status") != "True":
        w.emit(obj, reason, message, component=component)
    return f"{obj['kind']} {_ref(obj)}: Ready ({message})"


# --- Flux: HelmRelease --------------------------------------------------------------------------


def _remediation_retries(hr: Obj, action: str) -> int:
    spec = (hr.get("spec") or {}).get(action) or {}
    # helm-controller's defaults: install and upgrade remediation retries are 0.
    return int((spec.get("remediation") or {}).get("retries", 0))


def _helmrelease_outcome(w: _Reactor, hr: Obj, before: Obj | None) -> str:
    status = hr.get("status") or {}
    force, force_value = annotation_request(hr, FORCE_AT, "lastHandledForceAt")
    reset, reset_value = annotation_request(hr, RESET_AT, "lastHandledResetAt")
    stamp = w.stamp.setdefault(key_of(hr), {})
    if force_value is not None:
        stamp["lastHandledForceAt"] = force_value
    if reset_value is not None:
        stamp["lastHandledResetAt"] = reset_value
    released = find_condition(status.get("conditions") or [], "Released") or {}
    failed = released.get("status") == "False" or (before or {}).get("status") == "False"
    if reset:
        for counter in ("failures", "installFailures", "upgradeFailures"):
            stamp[counter] = None
    if not failed:
        if force:
            return _helm_upgrade(w, hr, succeeded=True, forced=True)
        return _helm_in_sync(w, hr, before)
    failures = 0 if reset else int(status.get("upgradeFailures") or 0)
    retries = _remediation_retries(hr, "upgrade")
    if not (force or reset) and 0 <= retries < failures:
        return _helm_stalled(w, hr, failures)
    cause = released if released.get("status") == "False" else before
    return _helm_upgrade(w, hr, succeeded=retry_outcome(cause, force=force), forced=force)


def _helm_in_sync(w: _Reactor, hr: Obj, before: Obj | None) -> str:
    """Nothing to release: Ready is True again with what it said, Reconciling goes."""
    generation = hr["metadata"].get("generation")
    new = _copy(hr)
    status = _status(new)
    conditions = drop_condition(status.get("conditions") or [], "Reconciling")
    if before is not None and before.get("status") == "True":
        conditions = [c for c in conditions if c.get("type") != "Ready"]
        conditions = set_condition(
            [*conditions, before],
            "Ready",
            "True",
            before["reason"],
            before["message"],
            w.ts,
            generation,
        )
    else:
        released = find_condition(conditions, "Released") or {}
        conditions = set_condition(
            conditions,
            "Ready",
            "True",
            released.get("reason", "UpgradeSucceeded"),
            released.get("message", "Release reconciliation succeeded"),
            w.ts,
            generation,
        )
    status["conditions"] = conditions
    status["observedGeneration"] = generation
    w.update(HELMRELEASE, hr, new)
    return f"HelmRelease {_ref(hr)}: release in sync (Ready)"


def _helm_stalled(w: _Reactor, hr: Obj, failures: int) -> str:
    """Retries exhausted: helm-controller does not try again without --reset or --force."""
    generation = hr["metadata"].get("generation")
    action = (hr.get("status") or {}).get("lastAttemptedReleaseAction", "upgrade")
    message = f"Failed to {action} after {failures} attempt(s)"
    new = _copy(hr)
    status = _status(new)
    conditions = drop_condition(status.get("conditions") or [], "Reconciling")
    status["conditions"] = set_condition(
        conditions, "Stalled", "True", "RetriesExceeded", message, w.ts, generation
    )
    w.update(HELMRELEASE, hr, new)
    return f"HelmRelease {_ref(hr)}: {message} (Stalled, needs --reset or --force)"


def _helm_upgrade(w: _Reactor, hr: Obj, *, succeeded: bool, forced: bool) -> str:
    """An upgrade of the attempted chart: a new history snapshot, deployed or failed."""
    rel = _Release(hr)
    status = hr.get("status") or {}
    generation = hr["metadata"].get("generation")
    current = rel.deployed()
    target = status.get("lastAttemptedRevision") or current["chartVersion"]
    chart = current["chartName"]
    version = rel.latest_version() + 1
    stamp = w.stamp.setdefault(key_of(hr), {})
    new = _copy(hr)
    new_status = _status(new)
    for counter, value in list(stamp.items()):
        if value is None:  # a reset: the counters go before this attempt counts
            new_status.pop(counter, None)
            del stamp[counter]
    conditions = drop_condition(new_status.get("conditions") or [], "Stalled")
    if succeeded:
        snapshot = rel.snapshot(target, version, "deployed", "upgrade", w.ts)
        history = [
            {**s, "status": "superseded"} if s.get("status") == "deployed" else s
            for s in new_status.get("history") or []
        ]
        message = (
            f"Helm upgrade succeeded for release {rel.storage_namespace}/{rel.release}.v{version} "
            f"with chart {chart}@{target}"
        )
        conditions = drop_condition(drop_condition(conditions, "Reconciling"), "Remediated")
        conditions = set_conditions(
            conditions,
            [("Ready", "True", "UpgradeSucceeded"), ("Released", "True", "UpgradeSucceeded")],
            message,
            w.ts,
            generation,
        )
        for counter in ("failures", "installFailures", "upgradeFailures"):
            new_status.pop(counter, None)
        reason = "UpgradeSucceeded"
    else:
        snapshot = release_snapshot(
            release=rel.release,
            namespace_=rel.storage_namespace,
            chart_name=chart,
            chart_version=target,
            app_version=current.get("appVersion", ""),
            version=version,
            status="failed",
            action="upgrade",
            first_deployed=current["firstDeployed"],
            last_deployed=w.ts,
        )
        history = list(new_status.get("history") or [])
        released = find_condition(conditions, "Released") or {}
        message = released.get("message", "")
        conditions = set_conditions(
            conditions,
            [
                ("Reconciling", "True", "ProgressingWithRetry"),
                ("Ready", "False", "UpgradeFailed"),
                ("Released", "False", "UpgradeFailed"),
            ],
            message,
            w.ts,
            generation,
        )
        new_status["failures"] = int(new_status.get("failures") or 0) + 1
        new_status["upgradeFailures"] = int(new_status.get("upgradeFailures") or 0) + 1
        reason = "UpgradeFailed"
    new_status["history"] = truncate_helm_history([snapshot, *history])
    new_status["conditions"] = conditions
    new_status.update(
        lastAttemptedGeneration=generation,
        lastAttemptedReleaseAction="upgrade",
        lastAttemptedRevision=target,
        observedGeneration=generation,
    )
    w.update(HELMRELEASE, hr, new)
    w.emit(
        hr,
        reason,
        message,
        component=HELM_CONTROLLER,
        warning=not succeeded,
        annotations={"helm.toolkit.fluxcd.io/revision": target},
    )
    how = "forced upgrade" if forced else "upgrade"
    outcome = "succeeded (Ready)" if succeeded else "failed again (Degraded)"
    return f"HelmRelease {_ref(hr)}: {how} to {chart}@{target} {outcome}"


def flux_suspend_recorded(w: _Reactor, obj: Obj, memo: Obj) -> str:
    """A suspended object's reconcile returns early; helm-controller's patcher still records
    observedGeneration, kustomize-controller's only when Ready is True."""
    generation = obj["metadata"].get("generation")
    if group_kind(obj) != HELMRELEASE and _ready_status(obj) != "True":
        return f"{obj['kind']} {_ref(obj)}: suspended"
    new = _copy(obj)
    _status(new)["observedGeneration"] = generation
    w.update(group_kind(obj), obj, new)
    return f"{obj['kind']} {_ref(obj)}: suspended"


# --- Argo CD: refresh, sync, terminate ----------------------------------------------------------


def _computed_sync(app: Obj) -> str:
    resources = (app.get("status") or {}).get("resources") or []
    return "OutOfSync" if any(r.get("status") == "OutOfSync" for r in resources) else "Synced"


def app_refresh(w: _Reactor, app: Obj, memo: Obj) -> str:
    kind = _annotations(app).get(REFRESH)
    if kind is None:
        return f"Application {_ref(app)}: refresh already handled"
    new = _copy(app)
    status = _status(new)
    status["reconciledAt"] = w.ts
    if kind == "hard":
        # Manifests and the live-state cache are re-read: the sync status is compared again.
        status["sync"] = {**(status.get("sync") or {}), "status": _computed_sync(app)}
    app = w.update(APPLICATION, app, new)
    removed = {REFRESH: None}
    if REFRESH_TIMESTAMP in _annotations(app):
        removed[REFRESH_TIMESTAMP] = None
    w.write_metadata(app, {"annotations": removed}, ARGOCD_CONTROLLER)
    return f"Application {_ref(app)}: {kind} refresh done, annotation removed"


def app_operation_starts(w: _Reactor, app: Obj, memo: Obj) -> str:
    if not operation_requested(app):
        return f"Application {_ref(app)}: no operation to start"
    operation = app["operation"]
    new = _copy(app)
    _status(new)["operationState"] = {
        "message": SYNC_RUNNING,
        "operation": operation,
        "phase": "Running",
        "startedAt": w.ts,
    }
    w.update(APPLICATION, app, new)
    revision = (operation.get("sync") or {}).get("revision") or _target_revision(app)
    user = (operation.get("initiatedBy") or {}).get("username", "")
    w.emit(
        app,
        "OperationStarted",
        f"Initiated sync to '{revision}'" + (f" by {user}" if user else ""),
        component=ARGOCD_CONTROLLER,
    )
    return f"Application {_ref(app)}: sync Running"


def _target_revision(app: Obj) -> str:
    return ((app.get("status") or {}).get("sync") or {}).get("revision", "")


def app_operation_finishes(w: _Reactor, app: Obj, memo: Obj) -> str:
    state = (app.get("status") or {}).get("operationState") or {}
    if state.get("phase") == "Terminating":
        return app_terminated(w, app, memo)
    if state.get("phase") != "Running":
        return f"Application {_ref(app)}: operation no longer running"
    operation = state.get("operation") or app.get("operation") or {}
    sync = operation.get("sync") or {}
    # A branch or tag is resolved to its commit, as the repo-server resolves it.
    asked = sync.get("revision") or ""
    revision = asked if _COMMIT.match(asked) else _target_revision(app)
    status = app.get("status") or {}
    drifted = _out_of_sync(app)
    source = app["spec"].get("source") or {}
    resources = list(status.get("resources") or [])
    if sync.get("prune"):
        resources = [r for r in resources if not r.get("requiresPruning")]
    result = _sync_result(resources, drifted, source)
    result["revision"] = revision
    new = synced_application(app, operation, revision, resources, result, w.ts)
    w.update(APPLICATION, app, new)
    emit_sync_succeeded(w, app, revision)
    return f"Application {_ref(app)}: sync Succeeded at {revision[:7]} (Synced, Progressing)"


def app_healthy(w: _Reactor, app: Obj, memo: Obj) -> str:
    if (
        _health(app) != "Progressing"
        or (app.get("status") or {}).get("operationState", {}).get("phase") != "Succeeded"
    ):
        return f"Application {_ref(app)}: health {_health(app)}"
    new = _copy(app)
    _status(new)["health"] = {"lastTransitionTime": w.ts, "status": "Healthy"}
    w.update(APPLICATION, app, new)
    w.emit(
        app,
        "ResourceUpdated",
        "Updated health status: Progressing -> Healthy",
        component=ARGOCD_CONTROLLER,
    )
    return f"Application {_ref(app)}: rollout finished (Healthy)"


def app_terminated(w: _Reactor, app: Obj, memo: Obj) -> str:
    """gitops-engine's terminate: running tasks stop, the operation ends Failed."""
    state = (app.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Terminating":
        return f"Application {_ref(app)}: nothing to terminate"
    new = _copy(app)
    new.pop("operation", None)
    new_status = _status(new)
    new_status["operationState"] = {
        **{k: v for k, v in state.items() if k != "syncResult"},
        "finishedAt": w.ts,
        "message": OPERATION_TERMINATED,
        "phase": "Failed",
    }
    w.update(APPLICATION, app, new)
    w.emit(
        app,
        "OperationCompleted",
        f"Sync operation to {_target_revision(app)} failed: {OPERATION_TERMINATED}",
        component=ARGOCD_CONTROLLER,
        warning=True,
    )
    return f"Application {_ref(app)}: operation terminated (Failed)"


# --- the controllers -----------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Controllers:
    """Reacts to requests written to a demo cluster, one phase per object per ``tick()``.

    ``start()`` ticks from a daemon thread: right away when the cluster changes, then every
    ``tick_seconds`` while reactions are under way, until ``stop()``. ``lock`` is shared with the
    scripted ``Timeline`` so a step and a reaction never interleave their writes.
    """

    def __init__(
        self,
        cluster: DemoCluster,
        *,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
        clock: Callable[[], datetime] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        if tick_seconds <= 0:
            raise ValueError(f"tick_seconds must be positive, not {tick_seconds}")
        self.cluster = cluster
        self.tick_seconds = tick_seconds
        self._clock = clock or _utcnow
        self._lock = lock or threading.Lock()
        self._jobs: dict[tuple[ObjKey, str], _Job] = {}
        self._emitted: dict[tuple[str, str], datetime] = {}
        self._suspended: set[ObjKey] = set()
        self._seen_rv: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """Whether some reaction has phases left."""
        return bool(self._jobs)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tick(self) -> list[str]:
        """Pick up new requests and move every reaction one phase on; returns what happened."""
        with self._lock:
            now = self._clock().astimezone(UTC).replace(microsecond=0)
            world = _Reactor(self.cluster, now, self._emitted)
            self._discover()
            lines = []
            for job_key, job in list(self._jobs.items()):
                phase = job.phases.pop(0)
                group, kind, namespace, name = job.key
                obj = self.cluster.store.get(group, kind, namespace, name)
                try:
                    if obj is None:
                        raise ObjectMissing(f"{kind} {namespace}/{name} is gone")
                    lines.append(phase(world, _copy(obj), job.memo))
                except ObjectMissing as exc:
                    job.phases.clear()
                    lines.append(f"skipped: {exc}")
                except Exception:
                    # One bad reaction must not stop the others.
                    logger.exception("demo controller %s of %s failed", job.what, job.key)
                    job.phases.clear()
                world.stamp.clear()
                if not job.phases:
                    del self._jobs[job_key]
            world.expire_events()
            # Our own writes are not requests: the next tick starts after them.
            self._seen_rv = self.cluster.store.resource_version
        for line in lines:
            logger.info("demo controllers %s", line)
        return lines

    def _discover(self) -> None:
        store = self.cluster.store
        if self._seen_rv is None:
            changed = self._scan_all()
        else:
            try:
                events = store.events_since(self._seen_rv)
            except ExpiredError:
                changed = self._scan_all()
            else:
                changed = {}
                for event in events:
                    if event.type == "DELETED":
                        continue
                    key = key_of(event.object)
                    self._suspension(key, event.object)
                    changed[key] = event.object
        for key in changed:
            obj = store.get(*key)
            if obj is not None:
                self._requests(key, obj)

    def _suspension(self, key: ObjKey, obj: Obj) -> None:
        """Suspending or resuming changes the spec: the controller reconciles (and, suspended,
        returns early)."""
        if not handles_reconcile_requests(obj.get("apiVersion", ""), obj.get("kind", "")):
            return
        was = key in self._suspended
        if is_suspended(obj) and not was:
            self._suspended.add(key)
            self._want(key, "suspend", [flux_suspend_recorded])
        elif was and not is_suspended(obj):
            self._suspended.discard(key)
            self._jobs.pop((key, "suspend"), None)
            self._want(key, "reconcile", [flux_progressing, flux_outcome])

    def _scan_all(self) -> dict[ObjKey, Obj]:
        found: dict[ObjKey, Obj] = {}
        for group, kind in self.cluster.store.kinds():
            if not (group.endswith(".fluxcd.io") or group == "argoproj.io"):
                continue
            for obj in self.cluster.store.list(group, kind)[1]:
                key = key_of(obj)
                found[key] = obj
                if is_suspended(obj):
                    self._suspended.add(key)
        return found

    def _want(self, key: ObjKey, what: str, phases: list[Phase]) -> None:
        if (key, what) not in self._jobs:
            self._jobs[(key, what)] = _Job(key, what, list(phases))

    def _requests(self, key: ObjKey, obj: Obj) -> None:
        if reconcile_requested(obj) is not None:
            if is_suspended(obj):
                self._want(key, "reconcile", [flux_outcome])
            else:
                self._want(key, "reconcile", [flux_progressing, flux_outcome])
        if refresh_requested(obj) is not None:
            self._want(key, "refresh", [app_refresh])
        if terminate_requested(obj):
            self._jobs.pop((key, "sync"), None)
            self._want(key, "terminate", [app_terminated])
        elif operation_requested(obj):
            self._want(key, "sync", [app_operation_starts, app_operation_finishes, app_healthy])

    def start(self) -> None:
        if self.running:
            raise RuntimeError("demo controllers already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="demo-controllers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("demo controllers tick failed")
            if self._jobs or self.cluster.store.closed or self._seen_rv is None:
                self._stopping.wait(self.tick_seconds)
            else:
                # Wakes on the next write; the timeout only bounds how long stop() waits.
                self.cluster.store.wait_for_change(self._seen_rv, timeout=0.5)
