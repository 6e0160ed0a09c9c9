"""The normalizer's plain-shape reads (a first sync's fast path) give exactly the record that the
field-by-field read gives, for well-formed entries and for every odd one that falls back to it.

Each case is normalized twice: as shipped, and with the plain-shape helper switched off so that
every entry goes through the Node reads that record problems."""

from __future__ import annotations

from typing import Any

import pytest

from clusters.status import argo, inventory
from clusters.status.normalize import normalize
from tests.status.test_argo import application

GOOD = {
    "group": "apps",
    "kind": "Deployment",
    "namespace": "guestbook",
    "name": "web",
    "version": "v1",
    "status": "Synced",
    "health": {"status": "Healthy"},
}

# status.resources / syncResult.resources entries: the plain shape and what must fall back.
ENTRIES: list[Any] = [
    GOOD,
    {**GOOD, "health": None},
    {key: value for key, value in GOOD.items() if key != "health"},
    {**GOOD, "status": ""},
    {**GOOD, "namespace": None},
    {**GOOD, "name": ""},
    {key: value for key, value in GOOD.items() if key != "name"},
    {**GOOD, "kind": 7},
    {**GOOD, "version": ["v1"]},
    {**GOOD, "health": "Healthy"},
    {**GOOD, "health": {"status": 3}},
    {**GOOD, "health": {}},
    {**GOOD, "message": "deployment.apps/web configured", "hookPhase": "Running"},
    {**GOOD, "message": 12},
    None,
    "Deployment/web",
    [],
]


def _both(monkeypatch: pytest.MonkeyPatch, obj: dict[str, Any], name: str, off: Any) -> tuple:
    fast = normalize(obj)
    with monkeypatch.context() as patched:
        patched.setattr(name, off)
        slow = normalize(obj)
    return fast, slow


@pytest.mark.parametrize("health_source", ["", "appTree"])
@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_application_resources_read_alike(
    monkeypatch: pytest.MonkeyPatch, entry: Any, health_source: str
) -> None:
    status = {
        "health": {"status": "Healthy"},
        "sync": {"status": "Synced"},
        "resources": [GOOD, entry],
    }
    if health_source:
        status["resourceHealthSource"] = health_source
    fast, slow = _both(
        monkeypatch, application(status), "clusters.status.argo._plain_resource", lambda *a: None
    )
    assert fast == slow


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_sync_result_entries_read_alike(monkeypatch: pytest.MonkeyPatch, entry: Any) -> None:
    status = {
        "health": {"status": "Healthy"},
        "sync": {"status": "Synced"},
        "operationState": {
            "phase": "Succeeded",
            "syncResult": {"revision": "abc", "resources": [GOOD, entry]},
        },
    }
    fast, slow = _both(
        monkeypatch, application(status), "clusters.status.argo._plain_texts", lambda *a: None
    )
    assert fast == slow
    assert fast.details["operationState"]["syncResult"]["resources"][0] == {
        key: value for key, value in GOOD.items() if key != "health"
    }


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "guestbook_web_apps_Deployment", "v": "v1"},
        {"id": "_system__controller__foo_rbac.authorization.k8s.io_ClusterRole", "v": "v1"},
        {"id": "guestbook_web_apps_Deployment"},
        {"id": "guestbook_web_apps_Deployment", "v": 1},
        {"id": "guestbook_web_Deployment", "v": "v1"},
        {"id": "", "v": "v1"},
        {"v": "v1"},
        {"id": 5},
        None,
        "guestbook_web_apps_Deployment",
    ],
    ids=repr,
)
def test_inventory_entries_read_alike(monkeypatch: pytest.MonkeyPatch, entry: Any) -> None:
    obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "path": "./apps"},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}
            ],
            "inventory": {"entries": [{"id": "guestbook_cm__ConfigMap", "v": "v1"}, entry]},
        },
    }
    fast, slow = _both(monkeypatch, obj, "clusters.status.inventory._plain_entry", lambda *a: None)
    assert fast == slow
    assert fast.managed[0].kind == "ConfigMap"


def test_helpers_are_the_ones_patched() -> None:
    # The cases above switch these off by name: a rename must not make them compare a path
    # with itself.
    assert callable(argo._plain_resource) and callable(argo._plain_texts)
    assert callable(inventory._plain_entry)
