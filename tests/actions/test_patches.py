"""The writes each action sends, as the Flux CLI and the Argo CD API server send them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from clusters.actions import catalog, patches

TS = "2026-12-02T03:04:05.123456Z"


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Go's RFC3339Nano: no trailing zeros in the fraction, none at all on a whole second.
        (datetime(2026, 12, 2, 3, 4, 5, 123456, tzinfo=UTC), "2026-12-02T03:04:05.123456Z"),
        (datetime(2026, 12, 2, 3, 4, 5, 120000, tzinfo=UTC), "2026-12-02T03:04:05.12Z"),
        (datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC), "2026-12-02T03:04:05Z"),
    ],
)
def test_timestamps_are_printed_as_go_prints_rfc3339nano(instant, expected):
    assert patches.timestamp(instant) == expected


def test_a_timestamp_of_now_is_rfc3339():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z", patches.timestamp())


@pytest.mark.parametrize(
    ("flags", "annotations"),
    [
        ({}, {"reconcile.fluxcd.io/requestedAt": TS}),
        (
            {"force": True},
            {"reconcile.fluxcd.io/forceAt": TS, "reconcile.fluxcd.io/requestedAt": TS},
        ),
        (
            {"reset": True},
            {"reconcile.fluxcd.io/requestedAt": TS, "reconcile.fluxcd.io/resetAt": TS},
        ),
    ],
)
def test_reconcile_sets_the_annotations_flux_reconcile_sets(flags, annotations):
    assert patches.reconcile_patch(TS, **flags) == {"metadata": {"annotations": annotations}}


@pytest.mark.parametrize(
    ("spec", "suspend", "resume"),
    [
        ({}, {"spec": {"suspend": True}}, {}),
        ({"suspend": False}, {"spec": {"suspend": True}}, {}),
        # Resume removes the omitempty field; a write that changes nothing is the empty diff.
        ({"suspend": True}, {}, {"spec": {"suspend": None}}),
    ],
)
def test_suspend_and_resume_are_the_whole_object_diff(spec, suspend, resume):
    live = {"spec": {"interval": "10m", **spec}}
    assert patches.suspend_patch(live) == suspend
    assert patches.resume_patch(live) == resume


@pytest.mark.parametrize("hard", [False, True])
def test_refresh_sets_the_refresh_annotation_and_its_timestamp(hard):
    assert patches.refresh_patch(TS, hard=hard) == {
        "metadata": {
            "annotations": {
                "argocd.argoproj.io/refresh": "hard" if hard else "normal",
                "argocd.argoproj.io/refresh-timestamp": TS,
            }
        }
    }


SOURCE = {"repoURL": "https://git.example/apps.git", "path": "apps", "targetRevision": "main"}


def app(**spec):
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "portfolio", "namespace": "argocd", "resourceVersion": "7"},
        "spec": {"project": "default", "source": SOURCE, **spec},
        "status": {"operationState": {"phase": "Succeeded"}, "sync": {"status": "OutOfSync"}},
    }


@pytest.mark.parametrize(
    ("spec", "params", "operation"),
    [
        (
            {},
            {},
            {
                "sync": {"revision": "main", "source": SOURCE},
                "initiatedBy": {"username": "alice"},
                "retry": {},
            },
        ),
        (
            {"syncPolicy": {"retry": {"limit": 3}, "syncOptions": ["CreateNamespace=true"]}},
            {"revision": "v1.2.0", "prune": True},
            {
                "sync": {
                    "revision": "v1.2.0",
                    "prune": True,
                    "source": SOURCE,
                    "syncOptions": ["CreateNamespace=true"],
                },
                "initiatedBy": {"username": "alice"},
                "retry": {"limit": 3},
            },
        ),
        (
            {"source": None, "sources": [SOURCE, {"repoURL": "https://charts", "chart": "x"}]},
            {},
            {
                "sync": {
                    "sources": [SOURCE, {"repoURL": "https://charts", "chart": "x"}],
                    "revisions": ["main", ""],
                },
                "initiatedBy": {"username": "alice"},
                "retry": {},
            },
        ),
    ],
)
def test_sync_writes_the_operation_the_api_server_writes(spec, params, operation):
    live = app(**spec)
    body = patches.sync_patch(live, "alice", **params)
    assert body == {
        # guarded by the version read, as argocd's update is: a stale one is a 409
        "metadata": {"resourceVersion": "7"},
        "operation": operation,
        "status": {"operationState": None},  # SetAppOperation drops the last operation's state
    }
    assert live["status"]["operationState"]  # input untouched


@pytest.mark.parametrize(
    ("live", "params", "refusal"),
    [
        ({**app(), "operation": {"sync": {}}}, {}, "another operation is already in progress"),
        (app(syncPolicy={"automated": {}}), {"revision": "v2"}, "auto-sync is enabled"),
        (app(source=None, sources=[SOURCE]), {"revision": "v2"}, "one source"),
    ],
)
def test_sync_refuses_what_the_api_server_refuses(live, params, refusal):
    with pytest.raises(patches.Refused, match=refusal):
        patches.sync_patch(live, "alice", **params)


def test_terminate_sets_the_running_operation_to_terminating():
    live = {**app(), "operation": {"sync": {}}}
    live["status"]["operationState"]["phase"] = "Running"
    assert patches.terminate_patch(live) == {
        "metadata": {"resourceVersion": "7"},
        "status": {"operationState": {"phase": "Terminating"}},
    }
    with pytest.raises(patches.Refused, match="No operation is in progress"):
        patches.terminate_patch(app())


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("Kustomization", ["reconcile", "reconcile-with-source", "suspend", "resume"]),
        (
            "HelmRelease",
            ["reconcile", "reconcile-with-source", "suspend", "resume", "force", "reset"],
        ),
        ("HelmChart", ["reconcile", "reconcile-with-source", "suspend", "resume"]),
        ("GitRepository", ["reconcile", "suspend", "resume"]),
        ("ImageUpdateAutomation", ["reconcile", "suspend", "resume"]),
        ("Application", ["refresh", "hard-refresh", "sync", "terminate"]),
        ("AppProject", []),
        ("Alert", []),
    ],
)
def test_each_kind_offers_the_actions_its_cli_has(kind, names):
    assert [a.name for a in catalog.actions_of(kind)] == names


@pytest.mark.parametrize(
    ("kind", "action", "obj", "why"),
    [
        ("Kustomization", "reconcile", {"spec": {"suspend": True}}, "suspended"),
        ("HelmRelease", "force", {"spec": {"suspend": True}}, "suspended"),
        ("Kustomization", "reconcile", {"spec": {}}, ""),
        ("Kustomization", "suspend", {"spec": {"suspend": True}}, "suspended already"),
        ("Kustomization", "resume", {"spec": {}}, "not suspended"),
        ("HelmRepository", "reconcile", {"spec": {"type": "oci"}}, "static"),
        ("Application", "terminate", app(), "no operation is running"),
        ("Application", "sync", {**app(), "operation": {"sync": {}}}, "in progress"),
        ("Application", "sync", app(), ""),
    ],
)
def test_why_not(kind, action, obj, why):
    reason = catalog.why_not(kind, action, obj)
    assert (why in reason) if why else reason == ""


@pytest.mark.parametrize(
    ("kind", "obj", "ref"),
    [
        (
            "Kustomization",
            {
                "metadata": {"namespace": "apps"},
                "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}},
            },
            catalog.Ref("GitRepository", "apps", "repo"),
        ),
        (
            "Kustomization",
            {
                "metadata": {"namespace": "apps"},
                "spec": {"sourceRef": {"kind": "OCIRepository", "name": "r", "namespace": "flux"}},
            },
            catalog.Ref("OCIRepository", "flux", "r"),
        ),
        (
            "HelmRelease",
            {
                "metadata": {"namespace": "bigbang", "name": "monitoring"},
                "spec": {"chart": {"spec": {"sourceRef": {"kind": "GitRepository", "name": "m"}}}},
            },
            catalog.Ref("HelmChart", "bigbang", "bigbang-monitoring"),
        ),
        (
            "HelmRelease",
            {
                "metadata": {"namespace": "apps", "name": "web"},
                "spec": {"chartRef": {"kind": "OCIRepository", "name": "web-chart"}},
            },
            catalog.Ref("OCIRepository", "apps", "web-chart"),
        ),
        (
            "HelmChart",
            {
                "metadata": {"namespace": "bigbang"},
                "spec": {"sourceRef": {"kind": "HelmRepository", "name": "r1"}},
            },
            catalog.Ref("HelmRepository", "bigbang", "r1"),
        ),
        ("GitRepository", {"metadata": {"namespace": "x"}, "spec": {}}, None),
    ],
)
def test_with_source_finds_the_source_the_cli_finds(kind, obj, ref):
    assert catalog.source_of(kind, obj) == ref
