"""Flux and Argo CD objects come back with the metadata a real API server sends (issue 11).

managedFields as the controllers write them (creator, Flux's finalizer write, the status writer),
kept consistent with the object, recorded on HTTP writes and timeline steps, and big enough that
a list costs what it costs against a real cluster. Everything is read over HTTP through the real
``kubernetes`` client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from clusters.demo.crds import find_crd
from clusters.demo.fields import fields_of, record_write, status_writer
from clusters.demo.scale import build_scaled_platform
from clusters.demo.server import DemoCluster
from clusters.demo.timeline import Timeline
from tests.demo.conftest import NOW, raw

Obj = dict[str, Any]
GITOPS = re.compile(r"(\.fluxcd\.io|^argoproj\.io)/")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
APPS = ("argoproj.io", "v1alpha1", "applications")


def served_gitops(cluster: DemoCluster, api: ApiClient) -> list[Obj]:
    """Every Flux and Argo CD object, as a list request over HTTP returns it."""
    out: list[Obj] = []
    for group, kind in cluster.store.kinds():
        res = cluster.resolve(group, kind)
        if not GITOPS.search(res.api_version + "/"):
            continue
        status, _, data = raw(api, "GET", f"/apis/{res.api_version}/{res.plural}")
        assert status == 200, data
        body = json.loads(data)
        out.extend({**item, "kind": kind, "apiVersion": res.api_version} for item in body["items"])
    return out


def entries_of(obj: Obj) -> list[Obj]:
    return obj["metadata"].get("managedFields") or []


def has_self_marker(fields: Obj) -> bool:
    return any(k == "." or has_self_marker(v) for k, v in fields.items())


def assert_real_shape(obj: Obj) -> None:
    where = f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
    meta = obj["metadata"]
    assert meta["uid"] and TIME.match(meta["creationTimestamp"]), where
    assert isinstance(meta["resourceVersion"], str) and meta["resourceVersion"].isdigit(), where
    assert isinstance(meta["generation"], int), where
    entries = entries_of(obj)
    assert entries, f"{where} has no managedFields"
    for e in entries:
        assert e["fieldsType"] == "FieldsV1" and TIME.match(e["time"]), where
        assert e["apiVersion"] == obj["apiVersion"], where
        assert e["operation"] in ("Apply", "Update"), where
    creator = entries[0]
    assert "subresource" not in creator, where
    if "spec" in obj:
        # The creator's entry covers every spec field the object has.
        assert set(creator["fieldsV1"]["f:spec"]) - {"."} == {f"f:{k}" for k in obj["spec"]}, where
    writer = status_writer(obj)
    if writer is None or not obj.get("status"):
        return
    manager, through_status = writer
    (status_entry,) = [e for e in entries if "f:status" in e["fieldsV1"]]
    assert status_entry["manager"] == manager, where
    assert status_entry["operation"] == "Update", where
    crd = find_crd(obj["apiVersion"], obj["kind"])
    assert crd is not None
    # Through the status subresource exactly where the CRD has one (not for Applications).
    assert (status_entry.get("subresource") == "status") is crd.status_subresource, where
    covered = set(status_entry["fieldsV1"]["f:status"]) - {"."}
    assert covered == {f"f:{k}" for k in obj["status"]}, where
    # Lists are atomic in these CRDs: conditions is one field, as a real server records it.
    if "conditions" in obj["status"]:
        assert status_entry["fieldsV1"]["f:status"]["f:conditions"] == {}, where


def test_every_scenario_gitops_object_is_served_with_its_writers(
    demo_cluster: DemoCluster, api_client: ApiClient
) -> None:
    objects = served_gitops(demo_cluster, api_client)
    assert len(objects) > 40
    for obj in objects:
        assert_real_shape(obj)
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}

    ks = by_name[("Kustomization", "infrastructure")]
    assert [(e["manager"], e["operation"], e.get("subresource")) for e in entries_of(ks)] == [
        ("kustomize-controller", "Apply", None),
        ("gotk-kustomize-controller", "Update", None),
        ("gotk-kustomize-controller", "Update", "status"),
    ]
    assert entries_of(ks)[1]["fieldsV1"] == {
        "f:metadata": {"f:finalizers": {".": {}, 'v:"finalizers.fluxcd.io"': {}}}
    }
    # Server-side apply records only what was sent: no "." markers in an Apply entry.
    assert not has_self_marker(entries_of(ks)[0]["fieldsV1"])
    assert has_self_marker(entries_of(by_name[("HelmRelease", "gitlab")])[0]["fieldsV1"])

    release = by_name[("HelmRelease", "gitlab")]
    assert [e["manager"] for e in entries_of(release)] == ["helm-controller"] * 3
    chart = by_name[("HelmChart", "bigbang-gitlab")]
    assert [e["manager"] for e in entries_of(chart)] == [
        "helm-controller",
        "source-controller",
        "source-controller",
    ]

    portfolio = by_name[("Application", "portfolio")]
    synced, status = entries_of(portfolio)
    assert (synced["manager"], synced["operation"]) == ("argocd-controller", "Update")
    assert (status["manager"], status.get("subresource")) == ("argocd-application-controller", None)
    # Argo CD's sync is kubectl's client-side apply: the manifest is kept in the annotation.
    last_applied = json.loads(
        portfolio["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last_applied["spec"] == portfolio["spec"]
    assert (
        "f:kubectl.kubernetes.io/last-applied-configuration"
        in (synced["fieldsV1"]["f:metadata"]["f:annotations"])
    )
    assert synced["fieldsV1"]["f:metadata"]["f:finalizers"] == {
        ".": {},
        'v:"resources-finalizer.argocd.argoproj.io"': {},
    }
    generated = by_name[("Application", "demo-apps-dev")]
    assert entries_of(generated)[0]["manager"] == "argocd-applicationset-controller"


# --- the scaled platform the benchmark lists -----------------------------------------------------


@pytest.fixture(scope="module")
def scaled() -> Iterator[DemoCluster]:
    with DemoCluster(objects=build_scaled_platform(400, now=NOW)) as cluster:
        yield cluster


def test_a_scaled_platform_is_served_with_managed_fields_of_real_size(
    scaled: DemoCluster, client_for: Callable[..., ApiClient]
) -> None:
    objects = served_gitops(scaled, client_for(scaled))
    assert len(objects) == 400
    for obj in objects:
        assert_real_shape(obj)

    def average(kind: str, part: Callable[[Obj], Any]) -> float:
        sizes = [
            len(json.dumps(part(o), separators=(",", ":"))) for o in objects if o["kind"] == kind
        ]
        return sum(sizes) / len(sizes)

    # Issue 11 measured a real kube-apiserver v1.36: a Kustomization is ~2 KB of JSON, much of
    # it managedFields; an Argo CD Application with ten resources is several times that.
    assert average("Kustomization", lambda o: o) >= 1.5 * 1024
    assert average("Kustomization", lambda o: o["metadata"]["managedFields"]) >= 600
    assert average("Application", lambda o: o["metadata"]["managedFields"]) >= 1024


# --- writes keep the record, as the API server's field manager does ------------------------------


def kustomization(api: ApiClient, name: str) -> Obj:
    found: Obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        KS[0], KS[1], "flux-system", KS[2], name
    )
    return found


def by_writer(obj: Obj) -> dict[tuple[str, str | None], Obj]:
    return {(e["manager"], e.get("subresource")): e for e in entries_of(obj)}


def test_a_status_write_moves_the_writers_entry(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    before = kustomization(fresh_client, "infrastructure")
    started = datetime.now(UTC).replace(microsecond=0)
    patch = {"status": {"lastHandledReconcileAt": "2026-11-26T12:00:00Z"}}
    custom.patch_namespaced_custom_object_status(
        *KS[:2], "flux-system", KS[2], "infrastructure", patch,
        field_manager="gotk-kustomize-controller",
    )  # fmt: skip
    after = kustomization(fresh_client, "infrastructure")
    old, new = by_writer(before), by_writer(after)
    assert list(new) == list(old)  # the controller's own entry, not a new one
    status = new[("gotk-kustomize-controller", "status")]
    assert datetime.fromisoformat(status["time"]) >= started
    assert "f:lastHandledReconcileAt" in status["fieldsV1"]["f:status"]
    assert new[("kustomize-controller", None)] == old[("kustomize-controller", None)]

    # The same write again changes nothing: the record, times included, stays.
    custom.patch_namespaced_custom_object_status(
        *KS[:2], "flux-system", KS[2], "infrastructure", patch,
        field_manager="gotk-kustomize-controller",
    )  # fmt: skip
    assert entries_of(kustomization(fresh_client, "infrastructure")) == entries_of(after)

    # Another writer (named by its User-Agent) gets an entry of its own and takes the field.
    status_code, _, data = raw(
        fresh_client,
        "PATCH",
        f"/apis/{KS[0]}/{KS[1]}/namespaces/flux-system/{KS[2]}/infrastructure/status",
        body={"status": {"lastHandledReconcileAt": "2026-11-26T12:05:00Z"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status_code == 200, data
    final = by_writer(json.loads(data))
    # The client sends "OpenAPI-Generator/<version>/python"; the product token names it.
    assert final[("OpenAPI-Generator", "status")]["fieldsV1"] == {
        "f:status": {"f:lastHandledReconcileAt": {}}
    }
    controller = final[("gotk-kustomize-controller", "status")]["fieldsV1"]["f:status"]
    assert "f:lastHandledReconcileAt" not in controller and "f:conditions" in controller


def test_an_application_status_write_is_a_whole_object_update(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    custom.patch_namespaced_custom_object(
        *APPS[:2], "argocd", APPS[2], "portfolio",
        {"status": {"reconciledAt": "2026-11-26T12:00:30Z"}},
        field_manager="argocd-application-controller",
    )  # fmt: skip
    app = custom.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], "portfolio")
    writers = by_writer(app)
    assert list(writers) == [("argocd-controller", None), ("argocd-application-controller", None)]
    assert writers[("argocd-application-controller", None)]["time"] >= "2026-11-26T12:00:30Z"


def test_timeline_steps_move_the_controllers_entry(fresh_cluster: DemoCluster) -> None:
    steps = iter([NOW.replace(minute=1), NOW.replace(minute=2)])
    timeline = Timeline(fresh_cluster, clock=lambda: next(steps))
    before = fresh_cluster.get("helm.toolkit.fluxcd.io", "HelmRelease", "bigbang", "monitoring")
    assert before is not None
    timeline.step()  # Big Bang moves monitoring to a new chart; the upgrade starts
    after = fresh_cluster.get("helm.toolkit.fluxcd.io", "HelmRelease", "bigbang", "monitoring")
    assert after is not None
    status = by_writer(after)[("helm-controller", "status")]
    assert status["time"] == "2026-11-26T12:01:00Z"
    assert set(status["fieldsV1"]["f:status"]) == {f"f:{k}" for k in after["status"]}
    assert by_writer(before)[("helm-controller", "status")]["time"] < status["time"]


# --- the bookkeeping itself ----------------------------------------------------------------------


def _obj(spec: Obj, *entries: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "X", "metadata": {"managedFields": list(entries)}, **spec}


def _entry(manager: str, fields: Obj, subresource: str | None = None) -> Obj:
    e: Obj = {"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "T0"}
    e.update(fieldsType="FieldsV1", fieldsV1=fields)
    return {**e, "subresource": subresource} if subresource else e


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # A field another manager owned moves to the writer, with the time of the write.
        (
            {"spec": {"a": 1, "b": 2}},
            {"spec": {"a": 1, "b": 3}},
            [
                ("one", {"f:spec": {".": {}, "f:a": {}}}, "T0"),
                ("two", {"f:spec": {"f:b": {}}}, "T1"),
            ],
        ),
        # A removed field leaves every entry; an entry left empty is dropped.
        (
            {"spec": {"a": 1, "b": 2}},
            {"spec": {"a": 1}},
            [("one", {"f:spec": {".": {}, "f:a": {}}}, "T0")],
        ),
        # Nothing changed: nothing recorded.
        (
            {"spec": {"a": 1, "b": 2}},
            {"spec": {"a": 1, "b": 2}},
            [("one", fields_of({"spec": {"a": 1, "b": 2}}, owned_maps=True), "T0")],
        ),
    ],
)
def test_record_write(old: Obj, new: Obj, expected: list[tuple[str, Obj, str]]) -> None:
    owner = _entry("one", fields_of({"spec": old["spec"]}, owned_maps=True))
    result = record_write(_obj(old, owner), _obj(new, owner), "two", "T1")
    assert result is not None
    assert [(e["manager"], e["fieldsV1"], e["time"]) for e in result] == expected


def test_record_write_leaves_objects_without_managed_fields_alone() -> None:
    assert record_write(_obj({"spec": {}}), _obj({"spec": {"a": 1}}), "two", "T1") is None
