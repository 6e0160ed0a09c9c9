"""Flux CD objects -> ObjectRecord.

Status follows kstatus' order of evidence, first match wins:

1. ``metadata.deletionTimestamp`` set -> Progressing "Terminating".
2. ``spec.suspend: true`` -> Suspended. Suspension is spec-only: the controller leaves the last
   status untouched, so a suspended object can still say Ready=True; its message is kept.
3. ``metadata.generation != status.observedGeneration`` (both present) -> Progressing
   "LatestGenerationNotObserved": whatever the conditions say describes an older spec, so the
   object is never Healthy here — unless Ready's own observedGeneration is the current
   generation (kustomize-controller leaves status.observedGeneration at -1 when it fails early).
4. ``Stalled=True`` -> Degraded (the controller gave up).
5. ``Reconciling=True`` -> Progressing, except reason ``ProgressingWithRetry`` together with
   ``Ready=False``: that is failing-and-retrying, Degraded with Ready's reason and message.
   ``Ready=False/DependencyNotReady`` stays Progressing even then: the object is waiting for a
   dependency, and the dependency itself carries the failure. A fresh attempt (any other
   Reconciling reason) after a failure stays Progressing, its message naming the last failure.
6. ``Ready=True`` -> Healthy; ``Ready=False`` -> Degraded (Progressing for DependencyNotReady);
   ``Ready=Unknown`` -> Progressing.
7. No Ready condition (status missing or empty) -> Unknown "NotReconciled".

Alert and Provider (notification.toolkit.fluxcd.io/v1beta3) have no ``.status`` at all: nothing
will ever appear there, so Unknown would be a permanent false alarm. They are reported Healthy
("Exists": the object exists and is not suspended), or Suspended when ``spec.suspend`` is set, with
sync NotApplicable. If an old served version does carry conditions, those are read normally.

Sync exists only for appliers (Kustomization, HelmRelease): Synced when the last attempted
revision is the applied one, OutOfSync when the newest attempt failed while an older revision
still runs, Unknown when it cannot be told. Every other Flux kind has nothing to be in sync with
(NotApplicable); sources report their artifact revision as the applied revision.

HelmRelease v2 has no ``lastAppliedRevision`` (v2beta1 had, and is still read): the applied
revision is the chartVersion of the newest ``deployed`` snapshot in ``status.history``. It is
OutOfSync when Remediated=True (rolled back or uninstalled, possibly to the *same* chart version
after a values change failed), Released=False, the newest snapshot ``failed``, the applied chart
differs from ``lastAttemptedRevision``, or ``lastAttemptedConfigDigest`` differs from the deployed
snapshot's; Synced when Ready=True (helm-controller only says so when the release is the desired
one), when Released=True is as new as the other conditions, or when applied == attempted.

HelmRelease drift (clusters/status/drift.py): with ``spec.driftDetection.mode`` warn or enabled
and ``Drifted=True``, helm-controller says the cluster differs from the release while Ready stays
True. That is OutOfSync (as Argo CD calls a live state that differs from the target); a release
that is otherwise Healthy then takes the drift's reason and message, the fact a human needs.
The finding is kept in ``details["drift"]``.

Revision strings are kept exactly as written: Flux 2.0 changed ``main/<sha>`` to
``main@sha1:<sha>`` and clusters upgraded in place show both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from clusters.status.conditions import (
    Node,
    condition_generations,
    find_condition,
    is_false,
    is_true,
    join_messages,
    jsonable,
    read_conditions,
)
from clusters.status.drift import DRIFTED_CONDITION, DriftFinding, drift_finding
from clusters.status.inventory import read_inventory
from clusters.status.record import Condition, DependencyRef, ObjectRecord, ResourceRef
from clusters.status.vocabulary import Status, Sync

SOURCE_GROUP = "source.toolkit.fluxcd.io"
SOURCE_EXTENSIONS_GROUP = "source.extensions.fluxcd.io"
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
HELM_GROUP = "helm.toolkit.fluxcd.io"
NOTIFICATION_GROUP = "notification.toolkit.fluxcd.io"
IMAGE_GROUP = "image.toolkit.fluxcd.io"

# The group each Flux kind lives in; also used to fill DependencyRef.group from a bare kind.
KIND_GROUPS: dict[str, str] = {
    "GitRepository": SOURCE_GROUP,
    "OCIRepository": SOURCE_GROUP,
    "HelmRepository": SOURCE_GROUP,
    "HelmChart": SOURCE_GROUP,
    "Bucket": SOURCE_GROUP,
    "ExternalArtifact": SOURCE_GROUP,
    "ArtifactGenerator": SOURCE_EXTENSIONS_GROUP,
    "Kustomization": KUSTOMIZE_GROUP,
    "HelmRelease": HELM_GROUP,
    "Alert": NOTIFICATION_GROUP,
    "Provider": NOTIFICATION_GROUP,
    "Receiver": NOTIFICATION_GROUP,
    "ImageRepository": IMAGE_GROUP,
    "ImagePolicy": IMAGE_GROUP,
    "ImageUpdateAutomation": IMAGE_GROUP,
}
FLUX_GROUPS: frozenset[str] = frozenset(KIND_GROUPS.values())

APPLIER_KINDS = frozenset({"Kustomization", "HelmRelease"})
STATUSLESS_KINDS = frozenset({"Alert", "Provider"})
ARTIFACT_KINDS = frozenset(
    {"GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket", "ExternalArtifact"}
)

DEPENDENCY_NOT_READY = "DependencyNotReady"
PROGRESSING_WITH_RETRY = "ProgressingWithRetry"

# Labels Flux puts on everything it applies (helm-controller via its origin-labels post-renderer).
PARENT_LABELS: tuple[tuple[str, str, str], ...] = (
    ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace", "Kustomization"),
    ("helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace", "HelmRelease"),
)

SNAPSHOT_TEXT_KEYS = (
    *("chartName", "chartVersion", "appVersion", "status", "action", "name", "namespace"),
    *("digest", "configDigest", "ociDigest", "apiVersion"),
)
HELMRELEASE_TEXT_KEYS = (
    *("lastAttemptedRevision", "lastAttemptedReleaseAction", "lastAttemptedRevisionDigest"),
    *("lastAttemptedConfigDigest", "storageNamespace", "helmChart"),
)
IMAGE_TEXT_KEYS = ("canonicalImageName", "lastPushCommit", "observedSourceRevision", "webhookPath")

# Ready reasons that report a successful remediation rather than the failure behind it.
REMEDIATION_REASONS = frozenset({"RollbackSucceeded", "UninstallSucceeded"})

# A page shows a handful of releases; helm-controller keeps up to spec.maxHistory (default 5).
HISTORY_LIMIT = 10


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str
    message: str
    transition_time: str | None = None


def supports(group: str, kind: str) -> bool:
    return KIND_GROUPS.get(kind) == group


def read_flux(obj: Node, base: ObjectRecord) -> ObjectRecord:
    """Fill a record whose identity (tool/group/version/kind/namespace/name...) is already set."""
    kind, namespace = base.kind, base.namespace
    status = obj.get("status")
    conditions = read_conditions(status.get("conditions"))
    ready = find_condition(conditions, "Ready")
    managed = _managed(kind, status)
    sync, applied, attempted = _sync_and_revisions(kind, status, conditions)
    verdict = flux_verdict(obj, kind, conditions)
    details = _details(obj, kind)
    if kind == "HelmRelease":
        drift = helmrelease_drift(obj, conditions)
        details["drift"] = drift.as_json()
        sync, verdict = _with_drift(drift, sync, verdict)
    return dataclasses.replace(
        base,
        status=verdict.status,
        reason=verdict.reason,
        message=verdict.message,
        last_transition_time=verdict.transition_time,
        sync=sync,
        applied_revision=applied,
        attempted_revision=attempted,
        source=_source(obj, kind, namespace),
        suspended=is_suspended(obj),
        last_reconcile_time=(
            status.get("lastHandledReconcileAt").timestamp()
            or (ready.last_transition_time if ready else None)
        ),
        target_namespaces=_target_namespaces(obj, kind, namespace, managed),
        managed=managed,
        dependencies=flux_dependencies(obj, kind, namespace),
        conditions=conditions,
        details=details,
    )


def helmrelease_drift(obj: Node, conditions: list[Condition]) -> DriftFinding:
    """What the object itself says about drift (the condition); Events are added at read
    time (dashboard/helm_drift.py), as they arrive apart from the object."""
    mode = obj.get("spec", "driftDetection", "mode").text()
    return drift_finding(mode, find_condition(conditions, DRIFTED_CONDITION))


def _with_drift(drift: DriftFinding, sync: Sync, verdict: Verdict) -> tuple[Sync, Verdict]:
    if not drift.problem or drift.reported is None:
        return sync, verdict
    if verdict.status == Status.HEALTHY:
        reported = drift.reported
        at = reported.at.isoformat() if reported.at else verdict.transition_time
        verdict = Verdict(Status.HEALTHY, reported.reason, reported.message, at)
    return Sync.OUT_OF_SYNC, verdict


# -- status -------------------------------------------------------------------------------------


def is_suspended(obj: Node) -> bool:
    return obj.get("spec", "suspend").flag()


def flux_verdict(obj: Node, kind: str, conditions: list[Condition]) -> Verdict:
    """Status, reason, message and deciding transition time, in kstatus' order."""
    ready = find_condition(conditions, "Ready")
    deleted_at = obj.get("metadata", "deletionTimestamp").timestamp()
    if deleted_at:
        return Verdict(
            Status.PROGRESSING,
            "Terminating",
            f"{kind} is being deleted (since {deleted_at})",
            deleted_at,
        )
    if is_suspended(obj):
        fallback = f"{kind} is suspended (spec.suspend: true)"
        message = ready.message if ready and ready.message else fallback
        return Verdict(Status.SUSPENDED, "Suspended", message)
    if kind in STATUSLESS_KINDS and not conditions:
        return Verdict(
            Status.HEALTHY, "Exists", f"{kind} has no status; it exists and is not suspended"
        )
    stale = _generation_not_observed(obj, kind, ready)
    if stale:
        return stale
    verdict = _verdict_from_conditions(conditions, ready)
    if kind == "HelmRelease" and verdict.status == Status.DEGRADED:
        return _lead_with_release_failure(verdict, conditions)
    return verdict


def _lead_with_release_failure(verdict: Verdict, conditions: list[Condition]) -> Verdict:
    """After a remediation Ready says "rollback succeeded", which hides what failed. The
    Released condition still holds the failed action; a human needs that first."""
    released = find_condition(conditions, "Released")
    if verdict.reason not in REMEDIATION_REASONS or released is None or not is_false(released):
        return verdict
    message = join_messages(released.message, f"remediation: {verdict.message}")
    return Verdict(
        Status.DEGRADED, released.reason or verdict.reason, message, verdict.transition_time
    )


def _generation_not_observed(obj: Node, kind: str, ready: Condition | None) -> Verdict | None:
    generation = obj.get("metadata", "generation").integer()
    observed = obj.get("status", "observedGeneration").integer()
    if generation is None or observed is None or generation == observed:
        return None
    # kstatus reads each condition's own observedGeneration: a Ready written for this very
    # generation is current even when status.observedGeneration lags. kustomize-controller
    # leaves it at -1 when a reconcile fails before applying (source not found), and the
    # failure must show as the failure, not as "not observed yet".
    if ready is not None:
        ready_generation = condition_generations(obj.get("status", "conditions")).get("Ready")
        if ready_generation == generation:
            return None
    message = (
        f"{kind} generation {generation} is not observed by the controller yet "
        f"(status.observedGeneration is {observed})"
    )
    if ready and ready.message:
        message += f"; last status: {ready.message}"
    return Verdict(Status.PROGRESSING, "LatestGenerationNotObserved", message)


def _verdict_from_conditions(conditions: list[Condition], ready: Condition | None) -> Verdict:
    stalled = find_condition(conditions, "Stalled")
    if stalled is not None and is_true(stalled):
        # Stalled says "gave up"; Ready=False usually says why, which a human needs as well.
        message = join_messages(stalled.message, ready.message if ready and is_false(ready) else "")
        return Verdict(
            Status.DEGRADED, stalled.reason or "Stalled", message, stalled.last_transition_time
        )
    reconciling = find_condition(conditions, "Reconciling")
    if reconciling is not None and is_true(reconciling):
        return _reconciling_verdict(reconciling, ready)
    if ready is None:
        return Verdict(
            Status.UNKNOWN,
            "NotReconciled",
            "No Ready condition: not reconciled yet (status is missing or empty)",
        )
    return _ready_verdict(ready)


def _reconciling_verdict(reconciling: Condition, ready: Condition | None) -> Verdict:
    if ready is not None and is_false(ready):
        if ready.reason == DEPENDENCY_NOT_READY:
            return _from(Status.PROGRESSING, ready)
        if reconciling.reason == PROGRESSING_WITH_RETRY:
            return _from(Status.DEGRADED, ready)
        # A fresh attempt is running after a failure: say so, but the previous failure is the
        # fact a human needs next to "in progress".
        message = join_messages(
            reconciling.message, f"last attempt failed: {ready.message}" if ready.message else ""
        )
        return Verdict(
            Status.PROGRESSING,
            reconciling.reason or "Reconciling",
            message,
            reconciling.last_transition_time,
        )
    return _from(Status.PROGRESSING, reconciling, default_reason="Reconciling")


def _ready_verdict(ready: Condition) -> Verdict:
    if ready.status == "True":
        return _from(Status.HEALTHY, ready)
    if ready.status == "False":
        waiting = ready.reason == DEPENDENCY_NOT_READY
        return _from(Status.PROGRESSING if waiting else Status.DEGRADED, ready)
    return _from(Status.PROGRESSING, ready)


def _from(status: Status, condition: Condition, default_reason: str = "") -> Verdict:
    return Verdict(
        status,
        condition.reason or default_reason or condition.type,
        condition.message,
        condition.last_transition_time,
    )


# -- sync and revisions --------------------------------------------------------------------------


def _sync_and_revisions(
    kind: str, status: Node, conditions: list[Condition]
) -> tuple[Sync, str, str]:
    if kind == "Kustomization":
        applied = status.text_of("lastAppliedRevision")
        attempted = status.text_of("lastAttemptedRevision")
        return compare_revisions(applied, attempted), applied, attempted
    if kind == "HelmRelease":
        return helmrelease_sync(status, conditions)
    if kind in ARTIFACT_KINDS:
        return Sync.NOT_APPLICABLE, status.get("artifact", "revision").text(), ""
    if kind == "ImagePolicy":
        return Sync.NOT_APPLICABLE, _latest_image(status), ""
    if kind == "ImageUpdateAutomation":
        return Sync.NOT_APPLICABLE, status.text_of("lastPushCommit"), ""
    return Sync.NOT_APPLICABLE, "", ""


def compare_revisions(applied: str, attempted: str) -> Sync:
    """Synced when the last attempt is what runs; OutOfSync when a newer attempt did not land."""
    if not applied or not attempted:
        return Sync.UNKNOWN
    return Sync.SYNCED if applied == attempted else Sync.OUT_OF_SYNC


def helmrelease_sync(status: Node, conditions: list[Condition]) -> tuple[Sync, str, str]:
    """HelmRelease sync, for v2 (history) and v2beta1 (lastAppliedRevision) status shapes."""
    history = helm_history(status.get("history"))
    deployed = next((s for s in history if s.get("status") == "deployed"), None)
    attempted = status.text_of("lastAttemptedRevision")
    # v2beta1 wrote lastAppliedRevision; v2 only keeps release snapshots.
    applied = status.text_of("lastAppliedRevision") or (
        str(deployed.get("chartVersion", "")) if deployed else ""
    )
    if _helm_attempt_failed(conditions, history):
        return Sync.OUT_OF_SYNC, applied, attempted
    if applied and attempted and applied != attempted:
        return Sync.OUT_OF_SYNC, applied, attempted
    attempted_config = status.text_of("lastAttemptedConfigDigest")
    deployed_config = str(deployed.get("configDigest", "")) if deployed else ""
    if attempted_config and deployed_config and attempted_config != deployed_config:
        return Sync.OUT_OF_SYNC, applied, attempted
    if _helm_release_current(status, conditions) or (applied and attempted):
        return Sync.SYNCED, applied, attempted
    return Sync.UNKNOWN, applied, attempted


def _helm_attempt_failed(conditions: list[Condition], history: list[dict[str, Any]]) -> bool:
    # A remediated failure (rolled back or uninstalled) leaves an older release running, possibly
    # with the very same chart version (a values change failed), so revisions alone cannot tell.
    if is_true(find_condition(conditions, "Remediated")):
        return True
    if is_false(find_condition(conditions, "Released")):
        return True
    return bool(history) and history[0].get("status") == "failed"


def _helm_release_current(status: Node, conditions: list[Condition]) -> bool:
    """Ready=True, or a Released=True that is not older than the newest condition."""
    if is_true(find_condition(conditions, "Ready")):
        return True
    released = find_condition(conditions, "Released")
    if not is_true(released):
        return False
    generations = condition_generations(status.get("conditions"))
    released_generation = generations.get("Released")
    # helm-controller only rewrites Released when it acts on the release: an older one next to a
    # newer Reconciling (an upgrade in flight) says nothing about the current attempt.
    return released_generation is None or released_generation >= max(generations.values())


def helm_history(node: Node) -> list[dict[str, Any]]:
    """Release snapshots newest first, trimmed for a page.

    The API documents newest-first, but hand-written fixtures exist in the other order; Helm
    release versions only grow, so sorting on them is always right when they are present.
    """
    snapshots = [_snapshot(item) for item in node.items() if item.is_mapping()]
    if snapshots and all(isinstance(s.get("version"), int) for s in snapshots):
        snapshots.sort(key=lambda s: s["version"], reverse=True)
    return snapshots[:HISTORY_LIMIT]


def _snapshot(item: Node) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    for key in SNAPSHOT_TEXT_KEYS:
        value = item.text_of(key)
        if value:
            snapshot[key] = value
    for key in ("firstDeployed", "lastDeployed", "deleted"):
        value = item.get(key).timestamp()
        if value:
            snapshot[key] = value
    version = item.get("version").integer()
    if version is not None:
        snapshot["version"] = version
    hooks = {name: hook.text_of("phase") for name, hook in item.get("testHooks").entries()}
    if hooks:
        snapshot["testHooks"] = hooks  # phase per hook; "" means the hook never ran
    return snapshot


def _latest_image(status: Node) -> str:
    latest = status.get("latestRef")
    if latest.present():
        name, tag = latest.text_of("name"), latest.text_of("tag")
        digest = latest.text_of("digest")
        image = f"{name}:{tag}" if tag else name
        return f"{image}@{digest}" if digest else image
    return status.text_of("latestImage")  # v1beta2


# -- relations ----------------------------------------------------------------------------------


def flux_dependencies(obj: Node, kind: str, namespace: str) -> list[DependencyRef]:
    spec = obj.get("spec")
    deps: list[DependencyRef] = []
    if kind in ("Kustomization", "ImageUpdateAutomation", "ExternalArtifact", "HelmChart"):
        deps += _ref_dependency(spec.get("sourceRef"), "source", namespace)
    if kind == "HelmRelease":
        deps += _ref_dependency(spec.get("chart", "spec", "sourceRef"), "source", namespace)
        deps += _ref_dependency(spec.get("chartRef"), "source", namespace)
        deps += _helmchart_dependency(obj.get("status", "helmChart"))
    if kind == "ImagePolicy":
        deps += _ref_dependency(
            spec.get("imageRepositoryRef"), "source", namespace, default_kind="ImageRepository"
        )
    if kind == "ArtifactGenerator":
        for item in spec.get("sources").items():
            deps += _ref_dependency(item, "source", namespace)
    if kind in APPLIER_KINDS:
        for item in spec.get("dependsOn").items():
            deps += _ref_dependency(item, "dependsOn", namespace, default_kind=kind)
    deps += flux_parents(obj)
    return list(dict.fromkeys(deps))


def _ref_dependency(
    ref: Node, relation: str, namespace: str, default_kind: str = ""
) -> list[DependencyRef]:
    """A Flux cross-object reference; its namespace defaults to the referring object's own."""
    if not ref.present() or not isinstance(ref.value, dict):
        ref.mapping()  # records a reference of the wrong type
        return []
    name = ref.text_of("name", required=True)
    kind = ref.text_of("kind") or default_kind
    if not name or not kind:
        if not kind:
            ref.problems.add(f"{ref.path}.kind is missing")
        return []
    group = _group_of(ref.text_of("apiVersion")) or KIND_GROUPS.get(kind, "")
    ref_namespace = ref.text_of("namespace") or namespace
    return [DependencyRef(relation, kind, ref_namespace, name, group)]


def _helmchart_dependency(node: Node) -> list[DependencyRef]:
    value = node.text()
    if not value:
        return []
    chart_namespace, sep, name = value.partition("/")
    if not sep or not chart_namespace or not name:
        node.problems.add(f"{node.path}: expected '<namespace>/<name>', got {value!r}")
        return []
    return [DependencyRef("helmchart", "HelmChart", chart_namespace, name, SOURCE_GROUP)]


def flux_parents(obj: Node) -> list[DependencyRef]:
    """The Kustomization/HelmRelease that applied this object, from Flux's origin labels.

    Shared with the Argo CD reader: Applications rendered by a Flux HelmRelease carry them too.
    Both labels are required; Flux always writes the pair, and a guessed namespace would draw an
    edge to an object that may not exist.
    """
    labels = obj.get("metadata", "labels")
    parents: list[DependencyRef] = []
    for name_key, namespace_key, kind in PARENT_LABELS:
        name = labels.text_of(name_key)
        parent_namespace = labels.text_of(namespace_key)
        if name and parent_namespace:
            parents.append(DependencyRef("parent", kind, parent_namespace, name, KIND_GROUPS[kind]))
    return parents


def _group_of(api_version: str) -> str:
    group, sep, _ = api_version.rpartition("/")
    return group if sep else ""


# -- claims and targets --------------------------------------------------------------------------


def _managed(kind: str, status: Node) -> list[ResourceRef]:
    if kind in APPLIER_KINDS:
        return read_inventory(status.get("inventory"))
    if kind == "ArtifactGenerator":
        return _generated_artifacts(status.get("inventory"))
    return []


def _generated_artifacts(inventory: Node) -> list[ResourceRef]:
    refs = []
    for item in inventory.items():
        name = item.text_of("name", required=True)
        if name:
            refs.append(
                ResourceRef(SOURCE_GROUP, "ExternalArtifact", item.text_of("namespace"), name)
            )
    return refs


def _target_namespaces(
    obj: Node, kind: str, namespace: str, managed: list[ResourceRef]
) -> list[str]:
    """Where an applier deploys (not where it lives). Sources and the rest deploy nothing."""
    if kind not in APPLIER_KINDS:
        return []
    target = obj.get("spec", "targetNamespace").text()
    found = {ref.namespace for ref in managed}
    if kind == "HelmRelease":
        # The release namespace is targetNamespace or the HelmRelease's own; storageNamespace
        # only holds Helm's release secrets.
        found.add(target or namespace)
        history = helm_history(obj.get("status", "history"))
        if history:
            found.add(str(history[0].get("namespace", "")))
    elif target:
        found.add(target)
    found.discard("")
    if not found and namespace:
        found.add(namespace)
    return sorted(found)


# -- source and details --------------------------------------------------------------------------


def _source(obj: Node, kind: str, namespace: str) -> dict[str, Any]:
    spec = obj.get("spec")
    if kind == "HelmRelease":
        return _helmrelease_source(spec, namespace)
    if kind in ("Kustomization", "ImageUpdateAutomation", "ExternalArtifact", "HelmChart"):
        source = _ref_dict(spec.get("sourceRef"), namespace)
        if kind == "Kustomization":
            _put(source, "path", spec.text_of("path"))
        if kind == "HelmChart":
            _put(source, "chart", spec.text_of("chart"))
            _put(source, "version", spec.text_of("version"))
        return source
    if kind in ("GitRepository", "OCIRepository", "HelmRepository"):
        source = {"url": spec.text_of("url")}
        if spec.get("ref").present():
            source["ref"] = jsonable(spec.get("ref").mapping())
        _put(source, "type", spec.text_of("type"))
        return source
    if kind == "Bucket":
        source = {"url": spec.text_of("endpoint")}
        _put(source, "bucketName", spec.text_of("bucketName"))
        return source
    if kind == "ImagePolicy":
        return _ref_dict(spec.get("imageRepositoryRef"), namespace, "ImageRepository")
    if kind == "ImageRepository":
        return {"image": spec.text_of("image")}
    if kind == "Alert":
        return _ref_dict(spec.get("providerRef"), namespace, "Provider")
    if kind in ("Provider", "Receiver"):
        # Never the address: webhook URLs (Slack, Teams...) embed their secret.
        return {"type": spec.text_of("type")}
    return {}


def _helmrelease_source(spec: Node, namespace: str) -> dict[str, Any]:
    chart_ref = spec.get("chartRef")
    if chart_ref.present():
        return _ref_dict(chart_ref, namespace)
    chart_spec = spec.get("chart", "spec")
    source = _ref_dict(chart_spec.get("sourceRef"), namespace)
    _put(source, "chart", chart_spec.text_of("chart"))
    _put(source, "version", chart_spec.text_of("version"))
    return source


def _ref_dict(ref: Node, namespace: str, default_kind: str = "") -> dict[str, Any]:
    if not ref.present():
        return {}
    return {
        "kind": ref.text_of("kind") or default_kind,
        "name": ref.text_of("name"),
        "namespace": ref.text_of("namespace") or namespace,
    }


def _put(target: dict[str, Any], key: str, value: str) -> None:
    if value:
        target[key] = value


def _details(obj: Node, kind: str) -> dict[str, Any]:
    status = obj.get("status")
    if kind == "HelmRelease":
        return _helmrelease_details(obj, status)
    details: dict[str, Any] = {}
    if kind == "Kustomization":
        _put(details, "lastAppliedOriginRevision", status.text_of("lastAppliedOriginRevision"))
        history = [_reconcile_entry(item) for item in status.get("history").items()]
        if history:
            details["history"] = history[:HISTORY_LIMIT]
    if kind in ARTIFACT_KINDS and status.get("artifact").present():
        details["artifact"] = _artifact(status.get("artifact"))
    if kind == "HelmChart":
        _put(details, "observedChartName", status.text_of("observedChartName"))
        _put(
            details,
            "observedSourceArtifactRevision",
            status.text_of("observedSourceArtifactRevision"),
        )
    if kind in ("ImagePolicy", "ImageRepository", "ImageUpdateAutomation", "Receiver"):
        for key in ("latestRef", "observedPreviousRef", "lastScanResult", "observedPolicies"):
            if status.get(key).present():
                details[key] = jsonable(status.get(key).mapping())
        for key in IMAGE_TEXT_KEYS:
            _put(details, key, status.text_of(key))
        for key in ("lastPushTime", "lastAutomationRunTime"):
            _put(details, key, status.get(key).timestamp() or "")
    return details


def _helmrelease_details(obj: Node, status: Node) -> dict[str, Any]:
    details: dict[str, Any] = {
        "failures": status.get("failures").integer() or 0,
        "installFailures": status.get("installFailures").integer() or 0,
        "upgradeFailures": status.get("upgradeFailures").integer() or 0,
        "history": helm_history(status.get("history")),
    }
    for key in HELMRELEASE_TEXT_KEYS:
        _put(details, key, status.text_of(key))
    _put(details, "releaseName", obj.get("spec", "releaseName").text())
    return details


def _artifact(node: Node) -> dict[str, Any]:
    artifact: dict[str, Any] = {}
    # checksum was renamed digest in Flux 2.0; keep whichever the controller wrote.
    for key in ("revision", "digest", "checksum"):
        _put(artifact, key, node.text_of(key))
    _put(artifact, "lastUpdateTime", node.get("lastUpdateTime").timestamp() or "")
    size = node.get("size").integer()
    if size is not None:
        artifact["size"] = size
    return artifact


def _reconcile_entry(item: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key in ("digest", "lastReconciledDuration", "lastReconciledStatus"):
        _put(entry, key, item.text_of(key))
    for key in ("firstReconciled", "lastReconciled"):
        _put(entry, key, item.get(key).timestamp() or "")
    total = item.get("totalReconciliations").integer()
    if total is not None:
        entry["totalReconciliations"] = total
    _put(entry, "revision", item.get("metadata", "revision").text())
    return entry
