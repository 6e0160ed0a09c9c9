"""Argo CD objects (argoproj.io/v1alpha1) -> ObjectRecord.

Application: status and sync are read exactly as Argo CD wrote them (``status.health.status``
maps 1:1 onto the shared vocabulary, ``status.sync.status`` onto Sync); nothing is recomputed.
In particular a ComparisonError gives sync Unknown while health may stay Healthy, and
``metadata.generation`` is never used: Application has no status subresource, so every status
write bumps it.

Since Argo CD 3.0 (``status.resourceHealthSource: appTree``) per-resource health is not stored in
the CR: ResourceRef.health is then None ("not reported"), never guessed. Installs that persist
health inline keep it, and it is copied.

The headline reason/message, in order: a SyncError from a Failed/Error operation; any other
``*Error`` condition; a Failed/Error operation; a running operation; an OutOfSync Application's
out-of-sync resources (named, with any warnings after them: a warning such as
OrphanedResourceWarning is not the reason an Application is OutOfSync; when Argo CD lists no
out-of-sync resource there is nothing better to name and the warnings lead); ``*Warning``
conditions (an error always beats a warning); the (deprecated) health message; else health and
sync.

ApplicationSet: ErrorOccurred=True -> Degraded; RolloutProgressing=True -> Progressing;
ResourcesUpToDate=True -> Healthy; otherwise Unknown. Sync NotApplicable.

AppProject: Healthy by existence, sync NotApplicable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clusters.status.conditions import (
    Node,
    find_condition,
    is_true,
    join_messages,
    jsonable,
    read_conditions,
)
from clusters.status.flux import flux_parents
from clusters.status.record import Condition, DependencyRef, ObjectRecord, ResourceRef
from clusters.status.vocabulary import Status, Sync

ARGO_GROUP = "argoproj.io"
ARGO_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})

HEALTH = {status.value: status for status in Status}
SYNC = {"Synced": Sync.SYNCED, "OutOfSync": Sync.OUT_OF_SYNC, "Unknown": Sync.UNKNOWN}
FAILED_PHASES = frozenset({"Failed", "Error"})
TRACKING_ID = "argocd.argoproj.io/tracking-id"
SOURCE_KEYS = ("repoURL", "path", "chart", "targetRevision")
# Out-of-sync resources named in the headline; the rest are counted (the page lists them all).
OUT_OF_SYNC_NAMED = 5
SYNC_RESULT_KEYS = (
    *("group", "version", "kind", "namespace", "name"),
    *("status", "message", "hookPhase", "hookType", "syncPhase"),
)


def supports(group: str, kind: str) -> bool:
    return group == ARGO_GROUP and kind in ARGO_KINDS


def read_argo(obj: Node, base: ObjectRecord) -> ObjectRecord:
    if base.kind == "Application":
        return read_application(obj, base)
    if base.kind == "ApplicationSet":
        return read_applicationset(obj, base)
    return read_appproject(obj, base)


# -- Application --------------------------------------------------------------------------------


def read_application(obj: Node, base: ObjectRecord) -> ObjectRecord:
    status = obj.get("status")
    spec = obj.get("spec")
    conditions = read_conditions(status.get("conditions"), default_status="True")
    health_text = status.get("health", "status").text()
    sync_text = status.get("sync", "status").text()
    operation = operation_state(status.get("operationState"))
    managed = application_resources(status)
    reason, message, when = application_headline(status, conditions, operation, managed)
    applied, attempted = application_revisions(status)
    return dataclasses.replace(
        base,
        status=HEALTH.get(health_text, Status.UNKNOWN),
        sync=SYNC.get(sync_text, Sync.UNKNOWN),
        reason=reason,
        message=message,
        last_transition_time=when or status.get("health", "lastTransitionTime").timestamp(),
        last_reconcile_time=status.get("reconciledAt").timestamp(),
        applied_revision=applied,
        attempted_revision=attempted,
        revisions=(
            status.get("sync", "revisions").strings()
            or status.get("operationState", "syncResult", "revisions").strings()
        ),
        source=argo_source(spec),
        target_namespaces=_sorted_namespaces(
            [spec.get("destination", "namespace").text()] + [ref.namespace for ref in managed]
        ),
        managed=managed,
        dependencies=application_dependencies(obj, base.namespace, managed),
        conditions=conditions,
        details=_application_details(obj, status, operation, health_text, sync_text),
    )


def application_headline(
    status: Node,
    conditions: list[Condition],
    operation: dict[str, Any],
    managed: list[ResourceRef],
) -> tuple[str, str, str | None]:
    """(reason, message, transition time) of the one thing a human should read first."""
    phase = operation.get("phase", "")
    op_message = operation.get("message", "")
    errors = [c for c in conditions if c.type.endswith("Error")]
    warnings = [c for c in conditions if c.type.endswith("Warning")]
    sync_error = find_condition(conditions, "SyncError")
    if phase in FAILED_PHASES and sync_error is not None:
        return (
            "SyncError",
            join_messages(sync_error.message, op_message),
            sync_error.last_transition_time,
        )
    if errors:
        return errors[0].type, errors[0].message, errors[0].last_transition_time
    if phase in FAILED_PHASES:
        message = op_message or f"Sync operation ended in phase {phase}"
        return f"Operation{phase}", message, operation.get("finishedAt")
    if phase == "Running":
        started = operation.get("startedAt")
        message = op_message or (
            f"Sync operation running since {started}" if started else "Sync operation running"
        )
        return "OperationRunning", message, started
    drifted = [ref for ref in managed if ref.sync == "OutOfSync"]
    if drifted and status.get("sync", "status").text() == "OutOfSync":
        message = join_messages(out_of_sync_sentence(drifted), _warnings_sentence(warnings))
        # Argo CD records no time for a sync change: the caller falls back to health's.
        return "OutOfSync", message, None
    if warnings:
        first = warnings[0]
        return first.type, first.message + _more_warnings(warnings), first.last_transition_time
    health = status.get("health")
    health_text = health.text_of("status")
    if not health_text:
        return "NotReconciled", "Argo CD has not reported health for this Application yet", None
    sync_text = status.get("sync", "status").text() or "Unknown"
    message = health.text_of("message") or (
        f"Argo CD reports health {health_text} and sync {sync_text}"
    )
    return health_text, message, health.get("lastTransitionTime").timestamp()


def out_of_sync_sentence(drifted: list[ResourceRef]) -> str:
    """E.g. 2 resources out of sync: ConfigMap ns/a, Deployment ns/b (the first few named)."""
    names = [_resource_label(ref) for ref in drifted[:OUT_OF_SYNC_NAMED]]
    more = len(drifted) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    noun = "resource" if len(drifted) == 1 else "resources"
    return f"{len(drifted)} {noun} out of sync: {listed}"


def _resource_label(ref: ResourceRef) -> str:
    return f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"


def _warnings_sentence(warnings: list[Condition]) -> str:
    """<Type>: <message> of the first warning: put after the real reason, read as a warning."""
    if not warnings:
        return ""
    return f"{warnings[0].type}: {warnings[0].message}{_more_warnings(warnings)}"


def _more_warnings(warnings: list[Condition]) -> str:
    return f" (and {len(warnings) - 1} more warnings)" if len(warnings) > 1 else ""


def operation_state(node: Node) -> dict[str, Any]:
    """status.operationState trimmed to what the object page shows (JSON-safe)."""
    if not node.present():
        return {}
    state: dict[str, Any] = {"phase": node.text_of("phase")}
    _put(state, "message", node.text_of("message"))
    for key in ("startedAt", "finishedAt"):
        _put(state, key, node.get(key).timestamp() or "")
    retry_count = node.get("retryCount").integer()
    if retry_count is not None:
        state["retryCount"] = retry_count
    initiated = node.get("operation", "initiatedBy")
    if initiated.present():
        state["initiatedBy"] = jsonable(initiated.mapping())
    result = node.get("syncResult")
    if result.present():
        state["syncResult"] = _sync_result(result)
    return state


def _sync_result(result: Node) -> dict[str, Any]:
    trimmed: dict[str, Any] = {}
    _put(trimmed, "revision", result.text_of("revision"))
    revisions = result.get("revisions").strings()
    if revisions:
        trimmed["revisions"] = revisions
    resources = []
    for item in result.get("resources").items():
        entry = _plain_texts(item.value, SYNC_RESULT_KEYS)
        if entry is None:  # a field of the wrong type: read it field by field, with problems
            entry = {}
            for key in SYNC_RESULT_KEYS:
                _put(entry, key, item.text_of(key))
        resources.append(entry)
    trimmed["resources"] = resources
    return trimmed


def _plain_texts(value: Any, keys: tuple[str, ...]) -> dict[str, str] | None:
    """The non-empty ``keys`` of a dict whose ``keys`` are all strings or absent (what
    ``_put(entry, key, item.text_of(key))`` gives for each, without a Node per read: a first
    sync reads ten fields of ~100,000 sync result entries); None for any other shape."""
    if type(value) is not dict:
        return None
    entry: dict[str, str] = {}
    for key in keys:
        found = value.get(key)
        if type(found) is str:
            if found:
                entry[key] = found
        elif found is not None:
            return None
    return entry


def application_revisions(status: Node) -> tuple[str, str]:
    """(applied, attempted). Multi-source revisions are joined with ", " (order = spec.sources).

    Applied: when Argo says Synced, the live state *is* the compared revision (Argo's own UI
    shows it as "Synced to"); otherwise the last successful sync's result, else the newest
    history entry (Argo appends). Attempted: whatever the last operation tried, resolved
    (syncResult) when available, "" when no operation is recorded.
    """
    op = status.get("operationState")
    result = _revision_of(op.get("syncResult"))
    requested = _revision_of(op.get("operation", "sync"))
    history = status.get("history").items()
    compared = _revision_of(status.get("sync"))
    if status.get("sync", "status").text() == "Synced" and compared:
        applied = compared
    elif op.text_of("phase") == "Succeeded" and result:
        applied = result
    elif history:
        applied = _revision_of(history[-1])
    else:
        applied = ""
    return applied, result or requested


def _revision_of(node: Node) -> str:
    return node.text_of("revision") or ", ".join(node.get("revisions").strings())


def application_resources(status: Node) -> list[ResourceRef]:
    # appTree: Argo CD >= 3.0 keeps per-resource health out of the CR; None = "not reported".
    health_reported = status.text_of("resourceHealthSource") != "appTree"
    refs = []
    for item in status.get("resources").items():
        ref = _plain_resource(item.value, health_reported)
        if ref is not None:
            refs.append(ref)
            continue
        # Something missing or of the wrong type: read field by field, recording problems.
        name = item.text_of("name", required=True)
        kind = item.text_of("kind", required=True)
        if not name or not kind:
            continue
        health = item.get("health", "status").text() if health_reported else ""
        refs.append(
            ResourceRef(
                group=item.text_of("group"),
                kind=kind,
                namespace=item.text_of("namespace"),
                name=name,
                version=item.text_of("version"),
                sync=item.text_of("status") or None,
                health=health or None,
            )
        )
    return refs


_RESOURCE_TEXT_KEYS = ("group", "kind", "namespace", "name", "version", "status")


def _plain_resource(value: Any, health_reported: bool) -> ResourceRef | None:
    """The ResourceRef of a well-formed ``status.resources`` entry (a dict with a name and a
    kind, every field read a string or absent), as the field-by-field read gives it, without a
    Node per field; None for anything else, which that read then judges."""
    if type(value) is not dict:
        return None
    texts = []
    for key in _RESOURCE_TEXT_KEYS:
        found = value.get(key)
        if found is None:
            found = ""
        elif type(found) is not str:
            return None
        texts.append(found)
    group, kind, namespace, name, version, sync = texts
    if not name or not kind:
        return None
    health = ""
    if health_reported:
        node = value.get("health")
        if node is not None:
            if type(node) is not dict:
                return None
            health = node.get("status")
            if health is None:
                health = ""
            elif type(health) is not str:
                return None
    return ResourceRef(group, kind, namespace, name, version, sync or None, health or None)


def application_dependencies(
    obj: Node, namespace: str, managed: list[ResourceRef]
) -> list[DependencyRef]:
    deps = _owner_parents(obj, namespace) + _tracking_parent(obj, namespace) + flux_parents(obj)
    # App-of-apps: Applications (and ApplicationSets) this Application deploys are its children.
    deps += [
        DependencyRef("child", ref.kind, ref.namespace, ref.name, ARGO_GROUP)
        for ref in managed
        if ref.group == ARGO_GROUP and ref.kind in ("Application", "ApplicationSet")
    ]
    return list(dict.fromkeys(deps))


def _owner_parents(obj: Node, namespace: str) -> list[DependencyRef]:
    parents = []
    for owner in obj.get("metadata", "ownerReferences").items():
        api_version = owner.text_of("apiVersion")
        if owner.text_of("kind") != "ApplicationSet" or not api_version.startswith(
            ARGO_GROUP + "/"
        ):
            continue
        name = owner.text_of("name", required=True)
        if name:
            # ownerReferences cannot cross namespaces.
            parents.append(DependencyRef("parent", "ApplicationSet", namespace, name, ARGO_GROUP))
    return parents


def _tracking_parent(obj: Node, namespace: str) -> list[DependencyRef]:
    """The app-of-apps parent, from Argo CD's tracking annotation
    ``<app>:<group>/<kind>:<namespace>/<name>``.

    Only when the annotation describes this very object: copies made by other tools are ignored,
    as Argo CD itself does. ``<app>`` is ``<namespace>_<name>`` for apps outside the control-plane
    namespace, otherwise the parent lives in the control-plane namespace.
    """
    value = obj.get("metadata", "annotations").get(TRACKING_ID).text()
    parts = value.split(":", 2)
    if len(parts) != 3:
        return []
    app, group_kind, namespaced_name = parts
    group, _, kind = group_kind.partition("/")
    target_namespace, _, target_name = namespaced_name.partition("/")
    me = obj.get("metadata", "name").text()
    if (group, kind, target_name) != (ARGO_GROUP, obj.text_of("kind"), me):
        return []
    if target_namespace not in ("", namespace) or not app:
        return []
    app_namespace, sep, app_name = app.partition("_")
    if not sep:
        app_name = app
        app_namespace = obj.get("status", "controllerNamespace").text() or namespace
    return [DependencyRef("parent", "Application", app_namespace, app_name, ARGO_GROUP)]


def argo_source(spec: Node) -> dict[str, Any]:
    """{"repoURL","path","chart","targetRevision"} (+ "sources" for multi-source apps)."""
    sources = [_one_source(item) for item in spec.get("sources").items()]
    if sources:
        return {**{key: sources[0][key] for key in SOURCE_KEYS}, "sources": sources}
    if spec.get("source").present():
        return _one_source(spec.get("source"))
    dry = spec.get("sourceHydrator", "drySource")
    if dry.present():
        return {**_one_source(dry), "hydrator": True}
    return {}


def _one_source(node: Node) -> dict[str, Any]:
    source: dict[str, Any] = {key: node.text_of(key) for key in SOURCE_KEYS}
    _put(source, "ref", node.text_of("ref"))
    return source


def _application_details(
    obj: Node, status: Node, operation: dict[str, Any], health_text: str, sync_text: str
) -> dict[str, Any]:
    spec = obj.get("spec")
    details: dict[str, Any] = {
        # Exactly as written, for the page (the record maps unknown values to Unknown).
        "healthStatus": health_text,
        "syncStatus": sync_text,
        "project": spec.text_of("project"),
        "destination": {
            key: spec.get("destination", key).text() for key in ("server", "name", "namespace")
        },
    }
    if operation:
        details["operationState"] = operation
    for key in ("resourceHealthSource", "controllerNamespace", "sourceType"):
        _put(details, key, status.text_of(key))
    _put(details, "syncRevision", status.get("sync", "revision").text())
    _put(details, "healthMessage", status.get("health", "message").text())
    source_types = status.get("sourceTypes").strings()
    if source_types:
        details["sourceTypes"] = source_types
    _put(details, "deletionTimestamp", obj.get("metadata", "deletionTimestamp").timestamp() or "")
    return details


# -- ApplicationSet -----------------------------------------------------------------------------


def read_applicationset(obj: Node, base: ObjectRecord) -> ObjectRecord:
    status = obj.get("status")
    conditions = read_conditions(status.get("conditions"))
    verdict_status, reason, message, when = applicationset_verdict(conditions)
    generated = application_resources(status)
    template = obj.get("spec", "template", "spec")
    destination = template.get("destination", "namespace").text()
    return dataclasses.replace(
        base,
        status=verdict_status,
        sync=Sync.NOT_APPLICABLE,
        reason=reason,
        message=message,
        last_transition_time=when,
        source=argo_source(template),
        target_namespaces=[] if "{{" in destination else _sorted_namespaces([destination]),
        managed=generated,
        dependencies=list(
            dict.fromkeys(
                [DependencyRef("child", r.kind, r.namespace, r.name, r.group) for r in generated]
                + flux_parents(obj)
            )
        ),
        conditions=conditions,
        details=_applicationset_details(obj, status),
    )


def applicationset_verdict(conditions: list[Condition]) -> tuple[Status, str, str, str | None]:
    for ctype, status in (
        ("ErrorOccurred", Status.DEGRADED),
        ("RolloutProgressing", Status.PROGRESSING),
        ("ResourcesUpToDate", Status.HEALTHY),
    ):
        condition = find_condition(conditions, ctype)
        if condition is not None and is_true(condition):
            reason = condition.reason or ctype
            return status, reason, condition.message, condition.last_transition_time
    up_to_date = find_condition(conditions, "ResourcesUpToDate")
    if up_to_date is not None:
        reason = up_to_date.reason or "ResourcesUpToDate"
        return Status.UNKNOWN, reason, up_to_date.message, up_to_date.last_transition_time
    return Status.UNKNOWN, "NotReconciled", "ApplicationSet has no status conditions yet", None


def _applicationset_details(obj: Node, status: Node) -> dict[str, Any]:
    details: dict[str, Any] = {}
    progress = []
    for item in status.get("applicationStatus").items():
        entry: dict[str, Any] = {}
        for key in ("application", "status", "step", "message"):
            entry[key] = item.text_of(key)
        entry["targetRevisions"] = item.get("targetRevisions").strings()
        _put(entry, "lastTransitionTime", item.get("lastTransitionTime").timestamp() or "")
        progress.append(entry)
    if progress:
        details["applicationStatus"] = progress
    count = status.get("resourcesCount").integer()
    if count is not None:
        details["resourcesCount"] = count
    _put(details, "healthStatus", status.get("health", "status").text())
    strategy = obj.get("spec", "strategy")
    _put(details, "strategy", strategy.text_of("type"))
    return details


# -- AppProject ----------------------------------------------------------------------------------


def read_appproject(obj: Node, base: ObjectRecord) -> ObjectRecord:
    spec = obj.get("spec")
    return dataclasses.replace(
        base,
        status=Status.HEALTHY,
        sync=Sync.NOT_APPLICABLE,
        reason="Exists",
        message="AppProject exists; projects have no health of their own",
        dependencies=flux_parents(obj),
        details={
            "description": spec.text_of("description"),
            "sourceRepos": spec.get("sourceRepos").strings(),
            "destinations": [
                {key: item.text_of(key) for key in ("server", "name", "namespace")}
                for item in spec.get("destinations").items()
            ],
        },
    )


# -- helpers ------------------------------------------------------------------------------------


def _sorted_namespaces(namespaces: list[str]) -> list[str]:
    return sorted({ns for ns in namespaces if ns})


def _put(target: dict[str, Any], key: str, value: str) -> None:
    if value:
        target[key] = value
