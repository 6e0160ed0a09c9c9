"""The store's bulk INSERTs (clusters/store/objects.py) over a real poll and a real watch of the
demo cluster: many rows per statement, so what a user must see is that nothing is lost, cut or
mixed up at a statement's edge, and that free text reaches the page exactly as the cluster
wrote it, placeholders and all."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from clusters.models import GitOpsObject, ManagedResource, ObjectTarget
from clusters.poll import poll_cluster
from clusters.sync import watch_cluster

# More than one statement's worth of each (200 child rows, 500 objects per INSERT on SQLite),
# and not a multiple of it: the last, shorter statement of each is exercised too.
RESOURCES = 450
KUSTOMIZATIONS = 613
# Free text as a controller may write it: what SQL drivers treat as placeholders or quoting.
ODD = "%s ? %% ' \" :name $1"


def _application_with_resources(demo) -> dict[str, Any]:
    app = copy.deepcopy(demo.list("argoproj.io", "applications", "argocd")[0])
    app["status"]["resources"] = [
        {
            "group": "",
            "version": "v1",
            "kind": "ConfigMap",
            "namespace": "demo-apps",
            "name": f"cm-{i:03d} {ODD}",
            "status": "Synced",
            "health": {"status": "Healthy"},
        }
        for i in range(RESOURCES)
    ]
    return demo.apply(app)


def _many_kustomizations(demo) -> None:
    template = demo.get(
        "kustomize.toolkit.fluxcd.io", "kustomizations", "flux-system", "infrastructure"
    )
    assert template is not None
    for i in range(KUSTOMIZATIONS):
        k = copy.deepcopy(template)
        k["metadata"] = {"name": f"bulk-{i:04d}", "namespace": "flux-system"}
        k["spec"]["targetNamespace"] = f"target-{i:04d}"
        k["status"]["conditions"][0]["message"] = f"applied {i} {ODD}"
        demo.apply(k)


def _assert_stored_exactly(app: dict[str, Any]) -> None:
    stored = GitOpsObject.objects.get(kind="Application", name=app["metadata"]["name"])
    names = list(
        ManagedResource.objects.filter(obj=stored, kind="ConfigMap")
        .order_by("name")
        .values_list("name", flat=True)
    )
    assert names == [f"cm-{i:03d} {ODD}" for i in range(RESOURCES)]
    # Each new object's child rows belong to that object: ids matched across statements.
    targets = dict(
        ObjectTarget.objects.filter(obj__name__startswith="bulk-").values_list(
            "obj__name", "namespace"
        )
    )
    assert len(targets) == KUSTOMIZATIONS
    assert all(targets[f"bulk-{i:04d}"] == f"target-{i:04d}" for i in range(KUSTOMIZATIONS))
    k = GitOpsObject.objects.get(kind="Kustomization", name="bulk-0612")
    assert k.message == f"applied 612 {ODD}"
    assert k.raw["status"]["conditions"][0]["message"] == f"applied 612 {ODD}"


@pytest.mark.django_db
def test_a_poll_stores_every_row_of_a_large_list_exactly(demo, demo_cluster):
    app = _application_with_resources(demo)
    _many_kustomizations(demo)

    run = poll_cluster(demo_cluster)

    assert run.ok, (run.error, run.errors)
    _assert_stored_exactly(app)


@pytest.mark.django_db(transaction=True)
def test_a_watchs_first_list_stores_every_row_of_a_large_list_exactly(demo, demo_cluster):
    app = _application_with_resources(demo)
    _many_kustomizations(demo)
    stop = threading.Event()
    expected = sum(
        len(demo.list(group, plural))
        for group, plural in (
            ("kustomize.toolkit.fluxcd.io", "kustomizations"),
            ("argoproj.io", "applications"),
        )
    )

    def on_batch() -> None:
        stored = GitOpsObject.objects.filter(kind__in=["Kustomization", "Application"]).count()
        if stored >= expected:
            stop.set()

    watch_cluster(demo_cluster, stop=stop, max_seconds=120, on_batch=on_batch)

    _assert_stored_exactly(app)
