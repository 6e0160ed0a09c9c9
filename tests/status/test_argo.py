"""Argo CD semantics on hand-written fixtures (tests/fixtures) and small inline objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clusters.status.normalize import normalize
from clusters.status.record import DependencyRef
from clusters.status.vocabulary import Status, Sync
from tests.status import load_fixture

ARGO = "argoproj.io"


def application(status: Any = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": f"{ARGO}/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd", **metadata},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
            "source": {"repoURL": "https://example.com/repo.git", "path": "guestbook"},
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


# -- Application: status and sync exactly as written ---------------------------------------------


@pytest.mark.parametrize(
    "health", ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
)
def test_health_maps_one_to_one(health: str) -> None:
    record = normalize(application({"health": {"status": health}, "sync": {"status": "Synced"}}))
    assert record.status.value == health
    assert record.sync is Sync.SYNCED


@pytest.mark.parametrize(
    ("sync", "expected"),
    [("Synced", Sync.SYNCED), ("OutOfSync", Sync.OUT_OF_SYNC), ("Unknown", Sync.UNKNOWN)],
)
def test_sync_maps_one_to_one(sync: str, expected: Sync) -> None:
    record = normalize(application({"health": {"status": "Healthy"}, "sync": {"status": sync}}))
    assert record.sync is expected


def test_unrecognised_values_read_as_unknown_and_are_kept_in_details() -> None:
    record = normalize(application({"health": {"status": "Sleepy"}, "sync": {"status": "Maybe"}}))
    assert (record.status, record.sync) == (Status.UNKNOWN, Sync.UNKNOWN)
    assert (record.details["healthStatus"], record.details["syncStatus"]) == ("Sleepy", "Maybe")


def test_generation_is_ignored_for_argo() -> None:
    # No status subresource: generation grows with every status write.
    record = normalize(
        application(
            {"health": {"status": "Healthy"}, "sync": {"status": "Synced"}}, generation=23398
        )
    )
    assert record.status is Status.HEALTHY


def test_no_status_is_unknown_not_reconciled() -> None:
    record = normalize(application())
    assert (record.status, record.sync, record.reason) == (
        Status.UNKNOWN,
        Sync.UNKNOWN,
        "NotReconciled",
    )


# -- Application: headline -----------------------------------------------------------------------


def test_failed_operation_with_sync_error() -> None:
    record = normalize(load_fixture("application-sync-failed.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.DEGRADED,
        Sync.OUT_OF_SYNC,
        "SyncError",
    )
    assert record.message.startswith("Failed sync attempt to 53e28ff")
    assert record.last_transition_time == "2025-02-01T10:02:00Z"
    assert record.last_reconcile_time == "2025-02-01T10:05:00Z"
    operation = record.details["operationState"]
    assert (operation["phase"], operation["retryCount"]) == ("Failed", 5)
    assert operation["initiatedBy"] == {"automated": True}
    failed = [r for r in operation["syncResult"]["resources"] if r["status"] == "SyncFailed"]
    assert [(r["kind"], r["name"], r["hookPhase"]) for r in failed] == [
        ("Deployment", "guestbook-ui", "Failed")
    ]
    # Running = last successful deploy (history), attempted = the failed operation's revision.
    assert record.applied_revision == "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
    assert record.attempted_revision == "53e28ff20cc530b9ada2173fbbd64d48338583ba"
    assert record.details["syncRevision"] == "53e28ff20cc530b9ada2173fbbd64d48338583ba"
    # appTree: per-resource health is not in the CR.
    assert [r.health for r in record.managed] == [None, None]
    assert [r.sync for r in record.managed] == ["Synced", "OutOfSync"]
    assert record.target_namespaces == ["guestbook"]
    assert record.source == {
        "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
        "path": "guestbook",
        "chart": "",
        "targetRevision": "HEAD",
    }


def test_failed_operation_without_sync_error_condition() -> None:
    obj = load_fixture("application-sync-failed.yaml")
    obj["status"]["conditions"] = obj["status"]["conditions"][:1]  # only the warning
    record = normalize(obj)
    assert record.reason == "OperationFailed"
    assert record.message.startswith("one or more objects failed to apply")


def test_error_operation_phase() -> None:
    obj = load_fixture("application-sync-failed.yaml")
    obj["status"]["operationState"]["phase"] = "Error"
    assert normalize(obj).reason == "SyncError"
    del obj["status"]["conditions"]
    assert normalize(obj).reason == "OperationError"


def test_comparison_error_keeps_health_and_beats_warning() -> None:
    record = normalize(load_fixture("application-comparison-error.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.HEALTHY,
        Sync.UNKNOWN,
        "ComparisonError",
    )
    assert "chart helm-app version 1.2.3 not found" in record.message
    assert [c.type for c in record.conditions] == ["OrphanedResourceWarning", "ComparisonError"]
    assert all(c.status == "True" for c in record.conditions)
    assert record.source["chart"] == "helm-app"
    assert record.source["targetRevision"] == "1.2.3"


def _resource(kind: str, name: str, sync: str, namespace: str = "guestbook") -> dict[str, Any]:
    group = {"Deployment": "apps", "ClusterRole": "rbac.authorization.k8s.io"}.get(kind, "")
    ref = {"group": group, "version": "v1", "kind": kind, "name": name, "status": sync}
    return {**ref, "namespace": namespace} if namespace else ref


ORPHANED = {
    "type": "OrphanedResourceWarning",
    "message": "Application has 1 orphaned resources",
    "lastTransitionTime": "2025-02-01T10:00:00Z",
}


@pytest.mark.parametrize(
    ("resources", "conditions", "reason", "message"),
    [
        # The cause (drifted resources) first, the warning after it, never instead of it;
        # with none listed there is nothing better to name than the warning.
        (
            [
                _resource("ConfigMap", "ui-config", "OutOfSync"),
                _resource("Service", "ui", "Synced"),
                _resource("Deployment", "ui", "OutOfSync"),
            ],
            [ORPHANED],
            "OutOfSync",
            "2 resources out of sync: ConfigMap guestbook/ui-config, Deployment guestbook/ui; "
            "OrphanedResourceWarning: Application has 1 orphaned resources",
        ),
        (
            [_resource("ClusterRole", "reader", "OutOfSync", namespace="")],
            [],
            "OutOfSync",
            "1 resource out of sync: ClusterRole reader",
        ),
        (
            [_resource("ConfigMap", f"cm-{n}", "OutOfSync") for n in range(7)],
            [],
            "OutOfSync",
            "7 resources out of sync: ConfigMap guestbook/cm-0, ConfigMap guestbook/cm-1, "
            "ConfigMap guestbook/cm-2, ConfigMap guestbook/cm-3, ConfigMap guestbook/cm-4 "
            "and 2 more",
        ),
        (
            [_resource("Service", "ui", "Synced")],
            [ORPHANED],
            "OrphanedResourceWarning",
            "Application has 1 orphaned resources",
        ),
    ],
    ids=["named-then-warning", "cluster-scoped", "capped", "none-listed"],
)
def test_out_of_sync_headline_names_the_drifted_resources_before_warnings(
    resources: list[dict[str, Any]], conditions: list[dict[str, Any]], reason: str, message: str
) -> None:
    status = {
        "health": {"status": "Healthy", "lastTransitionTime": "2025-02-01T09:00:00Z"},
        "sync": {"status": "OutOfSync", "revision": "abc"},
        "resources": resources,
        "conditions": conditions,
    }
    record = normalize(application(status))
    assert (record.reason, record.message) == (reason, message)
    # Argo CD gives sync no time: health's transition, or the warning's when it leads.
    since = ORPHANED["lastTransitionTime"] if reason == ORPHANED["type"] else "2025-02-01T09:00:00Z"
    assert record.last_transition_time == since


def test_a_synced_application_with_a_warning_still_shows_the_warning() -> None:
    status = {
        "health": {"status": "Healthy"},
        "sync": {"status": "Synced"},
        "resources": [_resource("Service", "ui", "Synced")],
        "conditions": [ORPHANED],
    }
    record = normalize(application(status))
    assert (record.reason, record.message) == (
        "OrphanedResourceWarning",
        "Application has 1 orphaned resources",
    )


# -- Application: relations ----------------------------------------------------------------------


def test_app_of_apps_children() -> None:
    record = normalize(load_fixture("application-app-of-apps.yaml"))
    assert (record.status, record.sync) == (Status.HEALTHY, Sync.SYNCED)
    assert record.dependencies == [
        DependencyRef("child", "Application", "argocd", "cert-manager", ARGO),
        DependencyRef("child", "Application", "argocd", "ingress-nginx", ARGO),
    ]
    assert all(ref.health is None for ref in record.managed)
    assert len(record.managed) == 4
    # The cluster-scoped Namespace contributes no namespace.
    assert record.target_namespaces == ["argocd"]
    assert record.applied_revision == "0123456789abcdef0123456789abcdef01234567"


def test_generated_child_application() -> None:
    record = normalize(load_fixture("application-appset-child.yaml"))
    assert record.status is Status.PROGRESSING
    assert record.dependencies == [
        DependencyRef("parent", "ApplicationSet", "argocd", "cluster-addons", ARGO),
        DependencyRef("parent", "Application", "argocd", "root", ARGO),
        DependencyRef("parent", "HelmRelease", "bigbang", "argocd", "helm.toolkit.fluxcd.io"),
    ]
    assert record.revisions == ["v1.17.1", "89abcdef0123456789abcdef0123456789abcdef"]
    assert record.source["chart"] == "cert-manager"
    assert [s.get("ref", "") for s in record.source["sources"]] == ["", "values"]
    assert record.target_namespaces == ["cert-manager", "kube-system"]
    # Persisted health mode: copied where present, None ("not reported") where absent.
    assert [r.health for r in record.managed] == ["Progressing", None, None, None]
    assert record.managed[3].name == "cert-manager:leaderelection"
    assert record.details["sourceTypes"] == ["Helm", "Directory"]


def test_tracking_annotation_of_another_object_is_ignored() -> None:
    obj = load_fixture("application-appset-child.yaml")
    annotation = "root:argoproj.io/Application:argocd/some-other-app"
    obj["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = annotation
    parents = [d.name for d in normalize(obj).dependencies if d.relation == "parent"]
    assert parents == ["cluster-addons", "argocd"]


def test_tracking_annotation_with_namespaced_parent_app() -> None:
    obj = load_fixture("application-appset-child.yaml")
    annotation = "team-a_root:argoproj.io/Application:argocd/cert-manager"
    obj["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = annotation
    assert DependencyRef("parent", "Application", "team-a", "root", ARGO) in (
        normalize(obj).dependencies
    )


# -- ApplicationSet and AppProject --------------------------------------------------------------


def test_applicationset_progressive_sync() -> None:
    record = normalize(load_fixture("applicationset-progressive-sync.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.PROGRESSING,
        Sync.NOT_APPLICABLE,
        "ApplicationSetModified",
    )
    progress = record.details["applicationStatus"]
    assert [(p["application"], p["status"], p["step"]) for p in progress] == [
        ("guestbook-dev", "Progressing", "1"),
        ("guestbook-prod", "Waiting", "2"),
    ]
    assert progress[0]["targetRevisions"] == ["53e28ff20cc530b9ada2173fbbd64d48338583ba"]
    assert record.details["resourcesCount"] == 2
    assert record.details["strategy"] == "RollingSync"
    assert record.dependencies == [
        DependencyRef("child", "Application", "argocd", "guestbook-dev", ARGO),
        DependencyRef("child", "Application", "argocd", "guestbook-prod", ARGO),
    ]
    assert [(r.name, r.sync, r.health) for r in record.managed] == [
        ("guestbook-dev", "Synced", "Progressing"),
        ("guestbook-prod", "OutOfSync", "Healthy"),
    ]
    # server is templated, namespace is not.
    assert record.target_namespaces == ["guestbook"]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"ErrorOccurred": "True", "RolloutProgressing": "True"}, Status.DEGRADED),
        ({"RolloutProgressing": "True", "ResourcesUpToDate": "True"}, Status.PROGRESSING),
        ({"ErrorOccurred": "False", "ResourcesUpToDate": "True"}, Status.HEALTHY),
        ({"ResourcesUpToDate": "False"}, Status.UNKNOWN),
        ({}, Status.UNKNOWN),
    ],
)
def test_applicationset_status(conditions: dict[str, str], expected: Status) -> None:
    obj = load_fixture("applicationset-progressive-sync.yaml")
    obj["status"] = {
        "conditions": [
            {"type": t, "status": s, "reason": t, "message": t} for t, s in conditions.items()
        ]
    }
    assert normalize(obj).status is expected


def test_appproject_exists() -> None:
    record = normalize(load_fixture("appproject-default.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.HEALTHY,
        Sync.NOT_APPLICABLE,
        "Exists",
    )
    assert record.details["sourceRepos"] == [
        "https://github.com/example/platform.git",
        "https://charts.jetstack.io",
    ]
    assert record.target_namespaces == []


# -- malformed input -----------------------------------------------------------------------------


def _with(path: list[Any], value: Any, fixture: str = "application-sync-failed.yaml") -> dict:
    obj = copy.deepcopy(load_fixture(fixture))
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


MALFORMED_ARGO = [
    ("sync a list", _with(["status", "sync"], ["Synced"]), "status.sync"),
    ("health status a number", _with(["status", "health", "status"], 1), "status.health.status"),
    ("resources a dict", _with(["status", "resources"], {"a": 1}), "status.resources"),
    ("resource without kind", _with(["status", "resources", 0, "kind"], None), "kind is missing"),
    (
        "condition without type",
        _with(["status", "conditions", 0], {"message": "x"}),
        "type is missing",
    ),
    ("operationState a string", _with(["status", "operationState"], "Failed"), "operationState"),
    (
        "syncResult resources a string",
        _with(["status", "operationState", "syncResult", "resources"], "x"),
        "syncResult.resources",
    ),
    (
        "ownerReferences a dict",
        _with(["metadata", "ownerReferences"], {"kind": "ApplicationSet"}),
        "ownerReferences",
    ),
    ("sources a string", _with(["spec", "sources"], "https://x"), "spec.sources"),
    ("sync revisions a string", _with(["status", "sync", "revisions"], "abc"), "revisions"),
    ("reconciledAt a number", _with(["status", "reconciledAt"], 5), "reconciledAt"),
    (
        "applicationStatus an int",
        _with(["status", "applicationStatus"], 3, "applicationset-progressive-sync.yaml"),
        "applicationStatus",
    ),
    (
        "appset conditions a string",
        _with(["status", "conditions"], "Healthy", "applicationset-progressive-sync.yaml"),
        "status.conditions",
    ),
    (
        "project sourceRepos a string",
        _with(["spec", "sourceRepos"], "*", "appproject-default.yaml"),
        "sourceRepos",
    ),
]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [(raw, needle) for _, raw, needle in MALFORMED_ARGO],
    ids=[case for case, _, _ in MALFORMED_ARGO],
)
def test_malformed_argo_object(raw: dict[str, Any], needle: str) -> None:
    record = normalize(raw)
    assert (record.status, record.reason) == (Status.UNKNOWN, "Malformed")
    assert needle in record.message
