"""The demo cluster answers like a kube-apiserver, seen through the real ``kubernetes`` client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import urllib3
import yaml
from kubernetes import client, watch
from kubernetes.client import ApiClient, ApiException

from clusters.demo.crds import load_crds
from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster
from tests.demo.conftest import raw, reference_body

KS = ("kustomize.toolkit.fluxcd.io", "v1")
HR = ("helm.toolkit.fluxcd.io", "v2")
ARGO = ("argoproj.io", "v1alpha1")
REPO_ROOT = Path(__file__).resolve().parents[2]

# Status bodies as captured from a real API server (shared/reference/apiserver/*.json), with the
# object names of this scenario. test_expected_bodies_match_the_reference checks the copies.
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}
CONTINUE_MALFORMED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "invalid continue token: continue key is not valid: invalid character '\\u0081' "
    "looking for beginning of value",
    "reason": "BadRequest",
    "code": 400,
}


def not_found(plural: str, group: str, name: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{plural}.{group} "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "group": group, "kind": plural},
        "code": 404,
    }


def error_body(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def test_expected_bodies_match_the_reference() -> None:
    assert reference_body("list_unauthorized.json") == UNAUTHORIZED
    assert reference_body("continue_malformed.json") == CONTINUE_MALFORMED
    assert reference_body("get_kustomization_missing.json") == not_found(
        "kustomizations", KS[0], "nope"
    )
    assert reference_body("patch_argocd_application_status_404.json") == not_found(
        "applications", ARGO[0], "guestbook"
    )


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_lists_every_crd_kind_with_its_served_version(api_client: ApiClient) -> None:
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    custom = client.CustomObjectsApi(api_client)
    for crd in load_crds():
        assert crd.group in groups
        listed = {v.version for v in groups[crd.group].versions}
        assert crd.version in listed
        resources = {r.name: r for r in custom.get_api_resources(crd.group, crd.version).resources}
        entry = resources[crd.plural]
        assert (entry.kind, entry.namespaced) == (crd.kind, crd.namespaced)
        assert list(entry.short_names or []) == list(crd.short_names)
        assert f"{crd.plural}/status" in resources if crd.status_subresource else True


def test_discovery_versions_and_status_subresources(api_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    # One served version per Flux kind; notification has v1 (Receiver) and v1beta3 (Alert,
    # Provider) and prefers v1, as the captured group list does.
    assert [v.version for v in groups["notification.toolkit.fluxcd.io"].versions] == [
        "v1",
        "v1beta3",
    ]
    assert groups["notification.toolkit.fluxcd.io"].preferred_version.version == "v1"
    assert [v.version for v in groups["helm.toolkit.fluxcd.io"].versions] == ["v2"]

    def names(group: str, version: str) -> set[str]:
        return {r.name for r in custom.get_api_resources(group, version).resources}

    argo = names(*ARGO)
    assert {"applications", "applicationsets", "appprojects", "applicationsets/status"} <= argo
    assert "applications/status" not in argo
    assert "appprojects/status" not in argo
    assert "kustomizations/status" in names(*KS)
    assert "helmreleases/status" in names(*HR)
    beta3 = names("notification.toolkit.fluxcd.io", "v1beta3")
    assert beta3 == {"alerts", "providers"}
    assert "receivers/status" in names("notification.toolkit.fluxcd.io", "v1")


def test_argo_resource_list_matches_the_captured_one(api_client: ApiClient) -> None:
    status, headers, data = raw(api_client, "GET", "/apis/argoproj.io/v1alpha1")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    body = json.loads(data)
    expected = {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "argoproj.io/v1alpha1",
    }
    assert {k: body[k] for k in expected} == expected
    by_name = {r["name"]: r for r in body["resources"]}
    # storageVersionHash is derived like the API server does; these are the captured values.
    assert by_name["applications"]["storageVersionHash"] == "PVzHEyjMffI="
    assert by_name["applicationsets"]["storageVersionHash"] == "aaUQCD/yGd0="
    assert by_name["applicationsets/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["applications"]["verbs"] == [
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "create",
        "update",
        "watch",
    ]


def test_builtin_discovery(api_client: ApiClient) -> None:
    core = {r.name for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert {"namespaces", "events"} <= core
    apps = {r.name for r in client.AppsV1Api(api_client).get_api_resources().resources}
    assert {"deployments", "deployments/status", "statefulsets"} <= apps
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")


def test_group_not_installed_is_absent_and_404_plain(
    client_for: Callable[..., ApiClient],
) -> None:
    with DemoCluster(kinds_not_installed={"image.toolkit.fluxcd.io"}) as cluster:
        api = client_for(cluster)
        groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
        assert "image.toolkit.fluxcd.io" not in groups
        assert "kustomize.toolkit.fluxcd.io" in groups
        for path in (
            "/apis/image.toolkit.fluxcd.io",
            "/apis/image.toolkit.fluxcd.io/v1",
            "/apis/image.toolkit.fluxcd.io/v1/imagepolicies",
        ):
            status, headers, data = raw(api, "GET", path)
            assert (status, data) == (404, b"404 page not found\n")
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
        with pytest.raises(ApiException) as excinfo:
            client.CustomObjectsApi(api).list_cluster_custom_object(
                "image.toolkit.fluxcd.io", "v1", "imagepolicies"
            )
        assert excinfo.value.status == 404
        # The scenario's image objects cannot exist without their CRDs.
        assert cluster.store.list("image.toolkit.fluxcd.io", "ImagePolicy")[1] == []


def test_single_kind_not_installed(client_for: Callable[..., ApiClient]) -> None:
    with DemoCluster(
        objects=[], kinds_not_installed={"notification.toolkit.fluxcd.io/Receiver"}
    ) as c:
        custom = client.CustomObjectsApi(client_for(c))
        assert {
            r.name
            for r in custom.get_api_resources("notification.toolkit.fluxcd.io", "v1beta3").resources
        } == {"alerts", "providers"}
        # Receiver was the only v1 kind of the group, so v1 disappears with it.
        status, _, _ = raw(
            client_for(c), "GET", "/apis/notification.toolkit.fluxcd.io/v1/receivers"
        )
        assert status == 404


# --- auth ----------------------------------------------------------------------------------------


def test_bad_token_is_401_unauthorized(
    demo_cluster: DemoCluster, client_for: Callable[..., ApiClient]
) -> None:
    api = client_for(demo_cluster, token="not-the-token")
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(api).list_cluster_custom_object(*KS, "kustomizations")
    assert excinfo.value.status == 401
    assert error_body(excinfo.value) == UNAUTHORIZED


def test_missing_token_is_401(demo_cluster: DemoCluster) -> None:
    http = urllib3.PoolManager()
    response = http.request("GET", f"{demo_cluster.url}/apis")
    assert response.status == 401
    assert json.loads(response.data) == UNAUTHORIZED


# --- list, get -----------------------------------------------------------------------------------


def test_paging_returns_every_object_once(api_client: ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    everything = apps.list_deployment_for_all_namespaces()
    total = len(everything.items)
    assert total > 10
    seen: list[tuple[str, str]] = []
    token = None
    pages = 0
    while True:
        page = apps.list_deployment_for_all_namespaces(limit=4, _continue=token)
        pages += 1
        seen += [(d.metadata.namespace, d.metadata.name) for d in page.items]
        token = page.metadata.var_continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == total - len(seen)
        assert page.metadata.resource_version == everything.metadata.resource_version
    assert pages == -(-total // 4)
    assert sorted(seen) == sorted((d.metadata.namespace, d.metadata.name) for d in everything.items)
    assert len(set(seen)) == total


def test_paging_custom_objects_with_raw_json(api_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    response = custom.list_cluster_custom_object(
        *ARGO, "applications", limit=2, _preload_content=False
    )
    assert response.headers["Content-Type"] == "application/json"
    page = orjson.loads(response.data)
    assert page["kind"] == "ApplicationList"
    assert page["apiVersion"] == "argoproj.io/v1alpha1"
    assert set(page["metadata"]) == {"continue", "remainingItemCount", "resourceVersion"}
    # Custom resource items carry apiVersion/kind; the captured list does too.
    assert all(i["kind"] == "Application" for i in page["items"])
    names = [i["metadata"]["name"] for i in page["items"]]
    token = page["metadata"]["continue"]
    while token:
        page = custom.list_cluster_custom_object(*ARGO, "applications", limit=2, _continue=token)
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"]["continue"]
    unpaged = custom.list_cluster_custom_object(*ARGO, "applications")
    assert unpaged["metadata"] == {
        "continue": "",
        "resourceVersion": unpaged["metadata"]["resourceVersion"],
    }
    assert names == [i["metadata"]["name"] for i in unpaged["items"]]


def test_builtin_list_items_have_no_apiversion_kind(api_client: ApiClient) -> None:
    response = client.CoreV1Api(api_client).list_namespace(_preload_content=False)
    body = orjson.loads(response.data)
    assert (body["kind"], body["apiVersion"]) == ("NamespaceList", "v1")
    assert "kind" not in body["items"][0]
    assert "continue" not in body["metadata"]


def test_garbage_continue_is_400(api_client: ApiClient) -> None:
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(api_client).list_cluster_custom_object(
            *KS, "kustomizations", limit=2, _continue="garbage"
        )
    assert excinfo.value.status == 400
    assert error_body(excinfo.value) == CONTINUE_MALFORMED


def test_expired_continue_is_410_with_a_fresh_token(
    fresh_client: ApiClient, fresh_cluster: DemoCluster
) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    page = custom.list_cluster_custom_object(*HR, "helmreleases", limit=2)
    fresh_cluster.patch_status(
        HR[0], "helmreleases", "bigbang", "istiod", {"observedGeneration": 3}
    )
    fresh_cluster.compact()
    with pytest.raises(ApiException) as excinfo:
        custom.list_cluster_custom_object(
            *HR, "helmreleases", limit=2, _continue=page["metadata"]["continue"]
        )
    body = error_body(excinfo.value)
    assert (excinfo.value.status, body["reason"]) == (410, "Expired")
    resumed = custom.list_cluster_custom_object(
        *HR, "helmreleases", _continue=body["metadata"]["continue"]
    )
    first = [i["metadata"]["name"] for i in page["items"]]
    rest = [i["metadata"]["name"] for i in resumed["items"]]
    assert len(first) + len(rest) == 7
    assert not set(first) & set(rest)


def test_label_and_field_selectors(api_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    rendered = custom.list_namespaced_custom_object(
        *HR, "bigbang", "helmreleases", label_selector="helm.toolkit.fluxcd.io/name=bigbang"
    )
    assert "bigbang" not in {i["metadata"]["name"] for i in rendered["items"]}
    assert len(rendered["items"]) == 6
    teams = custom.list_namespaced_custom_object(
        *ARGO, "argocd", "applications", label_selector="team in (portfolio,data-platform)"
    )
    assert {i["metadata"]["name"] for i in teams["items"]} == {"portfolio", "data-platform"}
    one = custom.list_cluster_custom_object(
        *KS, "kustomizations", field_selector="metadata.name=tenants"
    )
    assert [i["metadata"]["name"] for i in one["items"]] == ["tenants"]
    with pytest.raises(ApiException) as excinfo:
        custom.list_cluster_custom_object(*KS, "kustomizations", field_selector="spec.path=x")
    assert excinfo.value.status == 400
    warnings = client.CoreV1Api(api_client).list_event_for_all_namespaces(
        field_selector="type=Warning"
    )
    # gitlab's failed upgrade and istiod's drift (warn mode)
    assert sorted(e.reason for e in warnings.items) == ["DriftDetected", "UpgradeFailed"]


def test_get_one_object(api_client: ApiClient) -> None:
    obj = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
        *HR, "bigbang", "helmreleases", "gitlab"
    )
    assert obj["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert obj["metadata"]["resourceVersion"].isdigit()
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment("istiod", "istio-system")
    assert deployment.status.ready_replicas == 2


def test_get_missing_is_404_not_found_status(api_client: ApiClient) -> None:
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            *KS, "flux-system", "kustomizations", "nope"
        )
    assert excinfo.value.status == 404
    assert excinfo.value.headers["Content-Type"] == "application/json"
    assert error_body(excinfo.value) == not_found("kustomizations", KS[0], "nope")


def test_unknown_resource_in_installed_group_is_plain_404(api_client: ApiClient) -> None:
    status, _, data = raw(api_client, "GET", "/apis/kustomize.toolkit.fluxcd.io/v1/widgets")
    assert (status, data) == (404, b"404 page not found\n")


# --- watch ---------------------------------------------------------------------------------------


def test_watch_sees_modified_after_patch_status(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    listed = custom.list_namespaced_custom_object(*KS, "flux-system", "kustomizations")
    rv = listed["metadata"]["resourceVersion"]
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "ReconciliationSucceeded",
        "message": "Applied revision: main@sha1:" + "a" * 40,
        "lastTransitionTime": "2026-11-26T12:05:00Z",
        "observedGeneration": 3,
    }
    timer = threading.Timer(
        0.3,
        fresh_cluster.patch_status,
        args=(
            KS[0],
            "Kustomization",
            "flux-system",
            "cert-manager-issuers",
            {"conditions": [ready]},
        ),
    )
    timer.start()
    events = []
    for event in watch.Watch().stream(
        custom.list_namespaced_custom_object,
        *KS,
        "flux-system",
        "kustomizations",
        resource_version=rv,
        timeout_seconds=2,
    ):
        events.append(event)
        if event["type"] == "MODIFIED":
            break
    timer.join()
    modified = [e for e in events if e["type"] == "MODIFIED"]
    assert len(modified) == 1
    obj = modified[0]["object"]
    assert obj["metadata"]["name"] == "cert-manager-issuers"
    assert obj["status"]["conditions"] == [ready]
    assert int(obj["metadata"]["resourceVersion"]) == int(rv) + 1
    # A status write does not bump the generation of a kind with a status subresource.
    assert obj["metadata"]["generation"] == 3


def test_watch_from_zero_replays_state_then_bookmarks(api_client: ApiClient) -> None:
    response = client.CustomObjectsApi(api_client).list_namespaced_custom_object(
        *HR,
        "bigbang",
        "helmreleases",
        watch=True,
        resource_version="0",
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    assert response.headers["Transfer-Encoding"] == "chunked"
    lines = [json.loads(line) for line in response.data.splitlines()]
    assert [e["type"] for e in lines[:7]] == ["ADDED"] * 7
    assert lines[-1]["type"] == "BOOKMARK"
    assert lines[-1]["object"] == {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"resourceVersion": lines[-1]["object"]["metadata"]["resourceVersion"]},
    }


def test_watch_too_old_resource_version_is_an_error_event(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    fresh_cluster.patch_status(
        KS[0], "kustomizations", "flux-system", "tenants", {"observedGeneration": 1}
    )
    compacted = fresh_cluster.compact()
    custom = client.CustomObjectsApi(fresh_client)
    response = custom.list_cluster_custom_object(
        *KS,
        "kustomizations",
        watch=True,
        resource_version="2",
        timeout_seconds=3,
        _preload_content=False,
    )
    assert response.status == 200
    assert [json.loads(line) for line in response.data.splitlines()] == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: 2 ({compacted})",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]
    with pytest.raises(ApiException) as excinfo:
        list(
            watch.Watch().stream(
                custom.list_cluster_custom_object,
                *KS,
                "kustomizations",
                resource_version="2",
                timeout_seconds=3,
            )
        )
    assert excinfo.value.status == 410


def test_watch_history_is_bounded(
    client_for: Callable[..., ApiClient], platform: list[dict[str, Any]]
) -> None:
    namespaces = [o for o in platform if o["kind"] == "Namespace"]
    with DemoCluster(objects=namespaces, history=5) as cluster:
        for i in range(10):
            cluster.patch(
                "", "namespaces", None, "sandbox", {"metadata": {"labels": {"round": str(i)}}}
            )
        core = client.CoreV1Api(client_for(cluster))
        with pytest.raises(ApiException) as excinfo:
            list(watch.Watch().stream(core.list_namespace, resource_version="1", timeout_seconds=1))
        assert excinfo.value.status == 410
        recent = str(cluster.resource_version - 3)
        events = list(
            watch.Watch().stream(core.list_namespace, resource_version=recent, timeout_seconds=1)
        )
        assert [e["type"] for e in events] == ["MODIFIED"] * 3


# --- writes --------------------------------------------------------------------------------------


def test_merge_patch_of_annotations(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    before = custom.get_namespaced_custom_object(*KS, "flux-system", "kustomizations", "tenants")
    patched = custom.patch_namespaced_custom_object(
        *KS,
        "flux-system",
        "kustomizations",
        "tenants",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "2026-11-26T12:00:00Z"}}},
    )
    assert patched["metadata"]["annotations"] == {
        "reconcile.fluxcd.io/requestedAt": "2026-11-26T12:00:00Z"
    }
    assert int(patched["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert patched["metadata"]["generation"] == before["metadata"]["generation"]
    assert patched["spec"] == before["spec"]
    assert patched["status"] == before["status"]
    # A spec change does bump it.
    suspended = custom.patch_namespaced_custom_object(
        *KS, "flux-system", "kustomizations", "tenants", {"spec": {"suspend": True}}
    )
    assert suspended["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_status_subresource_patch(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    patched = custom.patch_namespaced_custom_object_status(
        *HR,
        "bigbang",
        "helmreleases",
        "gitlab",
        {"status": {"failures": 2}, "spec": {"suspend": True}, "metadata": {"labels": {"x": "y"}}},
    )
    assert patched["status"]["failures"] == 2
    # Writes to /status change status only.
    assert "suspend" not in patched["spec"]
    assert "x" not in patched["metadata"]["labels"]
    assert (
        custom.get_namespaced_custom_object_status(*HR, "bigbang", "helmreleases", "gitlab")
        == patched
    )


def test_status_patch_on_argocd_application_is_404(api_client: ApiClient) -> None:
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(api_client).patch_namespaced_custom_object_status(
            *ARGO, "argocd", "applications", "portfolio", {"status": {}}
        )
    assert excinfo.value.status == 404
    assert error_body(excinfo.value) == not_found("applications", ARGO[0], "portfolio")


def test_application_status_write_bumps_generation(fresh_cluster: DemoCluster) -> None:
    before = fresh_cluster.get(ARGO[0], "Application", "argocd", "portfolio")
    assert before is not None
    after = fresh_cluster.patch_status(
        ARGO[0], "applications", "argocd", "portfolio", {"reconciledAt": "2026-11-26T12:01:00Z"}
    )
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_put_with_stale_resource_version_is_409(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    obj = custom.get_namespaced_custom_object(*KS, "flux-system", "kustomizations", "tenants")
    obj["spec"]["interval"] = "5m0s"
    updated = custom.replace_namespaced_custom_object(
        *KS, "flux-system", "kustomizations", "tenants", obj
    )
    assert updated["spec"]["interval"] == "5m0s"
    with pytest.raises(ApiException) as excinfo:
        custom.replace_namespaced_custom_object(
            *KS, "flux-system", "kustomizations", "tenants", obj
        )
    assert excinfo.value.status == 409
    assert error_body(excinfo.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Operation cannot be fulfilled on kustomizations.kustomize.toolkit.fluxcd.io "
        '"tenants": the object has been modified; please apply your changes to the latest '
        "version and try again",
        "reason": "Conflict",
        "details": {"name": "tenants", "group": KS[0], "kind": "kustomizations"},
        "code": 409,
    }


def test_create_validates_against_the_crd_schema(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    bad = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "bad"},
        "spec": {"interval": "10m"},
    }
    with pytest.raises(ApiException) as excinfo:
        custom.create_namespaced_custom_object(*KS, "flux-system", "kustomizations", bad)
    body = error_body(excinfo.value)
    assert (excinfo.value.status, body["reason"]) == (422, "Invalid")
    assert [(c["reason"], c["field"]) for c in body["details"]["causes"]] == [
        ("FieldValueRequired", "spec.prune"),
        ("FieldValueRequired", "spec.sourceRef"),
    ]
    assert body["message"].startswith(
        'Kustomization.kustomize.toolkit.fluxcd.io "bad" is invalid: ['
    )
    good = {
        **bad,
        "spec": {
            "interval": "10m",
            "prune": True,
            "path": "./x",
            "typo": 1,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
    }
    created = custom.create_namespaced_custom_object(*KS, "flux-system", "kustomizations", good)
    assert created["metadata"]["generation"] == 1 and created["metadata"]["uid"]
    assert "typo" not in created["spec"]  # pruned, as the API server prunes unknown fields
    with pytest.raises(ApiException) as excinfo:
        custom.create_namespaced_custom_object(*KS, "flux-system", "kustomizations", good)
    assert (excinfo.value.status, error_body(excinfo.value)["reason"]) == (409, "AlreadyExists")


def test_delete_waits_for_finalizers(fresh_client: ApiClient) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    gone = custom.delete_namespaced_custom_object(*HR, "bigbang", "helmreleases", "gitlab")
    assert gone["metadata"]["deletionTimestamp"]
    still = custom.get_namespaced_custom_object(*HR, "bigbang", "helmreleases", "gitlab")
    assert still["metadata"]["finalizers"] == ["finalizers.fluxcd.io"]
    custom.patch_namespaced_custom_object(
        *HR, "bigbang", "helmreleases", "gitlab", {"metadata": {"finalizers": None}}
    )
    with pytest.raises(ApiException) as excinfo:
        custom.get_namespaced_custom_object(*HR, "bigbang", "helmreleases", "gitlab")
    assert excinfo.value.status == 404


# --- faults --------------------------------------------------------------------------------------


def test_fault_403_on_one_plural_only(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fresh_cluster.set_fault("helmreleases", status=403)
    custom = client.CustomObjectsApi(fresh_client)
    with pytest.raises(ApiException) as excinfo:
        custom.list_cluster_custom_object(*HR, "helmreleases")
    assert excinfo.value.status == 403
    assert error_body(excinfo.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "helmreleases.helm.toolkit.fluxcd.io is forbidden: User "
        '"system:serviceaccount:tidewatch:tidewatch-reader" cannot list resource "helmreleases" '
        'in API group "helm.toolkit.fluxcd.io" at the cluster scope',
        "reason": "Forbidden",
        "details": {"group": "helm.toolkit.fluxcd.io", "kind": "helmreleases"},
        "code": 403,
    }
    assert custom.list_cluster_custom_object(*KS, "kustomizations")["items"]
    fresh_cluster.clear_faults()
    assert custom.list_cluster_custom_object(*HR, "helmreleases")["items"]


def test_fault_500_and_once(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fault = fresh_cluster.set_fault("/applications", status=500, once=True)
    custom = client.CustomObjectsApi(fresh_client)
    with pytest.raises(ApiException) as excinfo:
        custom.list_cluster_custom_object(*ARGO, "applications")
    assert excinfo.value.status == 500
    assert error_body(excinfo.value)["reason"] == "InternalError"
    assert custom.list_cluster_custom_object(*ARGO, "applications")["items"]
    assert fault.hits == 1


def test_fault_429_carries_retry_after(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fault = fresh_cluster.set_fault("kustomizations", status=429)
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(fresh_client).list_cluster_custom_object(*KS, "kustomizations")
    assert excinfo.value.status == 429
    assert excinfo.value.headers["Retry-After"] == "1"
    body = error_body(excinfo.value)
    assert (body["reason"], body["details"]) == ("TooManyRequests", {"retryAfterSeconds": 1})
    # urllib3 (under the kubernetes client) honours Retry-After on 429/503 by itself, three
    # times, before the error reaches the caller.
    assert fault.hits == 4


def test_transient_429_is_absorbed_by_the_client(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    fault = fresh_cluster.set_fault("kustomizations", status=429, once=True)
    listed = client.CustomObjectsApi(fresh_client).list_cluster_custom_object(*KS, "kustomizations")
    assert listed["items"]
    assert fault.hits == 1


def test_fault_custom_body_and_headers(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fresh_cluster.set_fault(
        "gitrepositories",
        status=503,
        body={"kind": "Status", "code": 503},
        headers={"Retry-After": "0", "X-Demo": "yes"},
    )
    with pytest.raises(ApiException) as excinfo:
        client.CustomObjectsApi(fresh_client).list_cluster_custom_object(
            "source.toolkit.fluxcd.io", "v1", "gitrepositories"
        )
    assert (excinfo.value.status, excinfo.value.headers["X-Demo"]) == (503, "yes")
    assert error_body(excinfo.value) == {"kind": "Status", "code": 503}


def test_fault_body_with_200_replaces_the_answer(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    body = {"apiVersion": "v1", "kind": "NamespaceList", "metadata": {}, "items": []}
    fresh_cluster.set_fault("/api/v1/namespaces", status=200, body=body)
    assert client.CoreV1Api(fresh_client).list_namespace().items == []


def test_fault_delay_trips_a_client_timeout(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    fault = fresh_cluster.set_fault("helmcharts", delay=0.6)
    custom = client.CustomObjectsApi(fresh_client)
    started = time.monotonic()
    assert custom.list_cluster_custom_object("source.toolkit.fluxcd.io", "v1", "helmcharts")[
        "items"
    ]
    assert time.monotonic() - started >= 0.6
    # urllib3 retries a read timeout three times, then gives up with the timeout as the reason.
    with pytest.raises(urllib3.exceptions.MaxRetryError) as excinfo:
        custom.list_cluster_custom_object(
            "source.toolkit.fluxcd.io", "v1", "helmcharts", _request_timeout=(1, 0.2)
        )
    assert isinstance(excinfo.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert fault.hits == 5


def test_fault_truncated_body(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fresh_cluster.set_fault("applicationsets", truncate=True, once=True)
    custom = client.CustomObjectsApi(fresh_client)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        custom.list_cluster_custom_object(*ARGO, "applicationsets")
    assert custom.list_cluster_custom_object(*ARGO, "applicationsets")["items"]


def test_fault_410_on_a_watch_is_an_error_event(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    fresh_cluster.set_fault("watch=", status=410)
    with pytest.raises(ApiException) as excinfo:
        list(
            watch.Watch().stream(
                client.CustomObjectsApi(fresh_client).list_cluster_custom_object,
                *KS,
                "kustomizations",
                resource_version="5",
                timeout_seconds=1,
            )
        )
    assert excinfo.value.status == 410


# --- kubeconfig and CLI --------------------------------------------------------------------------


def test_write_kubeconfig(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "nested" / "config.yaml", "http://127.0.0.1:9", "t0k3n")
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "demo"
    assert config["clusters"][0]["cluster"]["server"] == "http://127.0.0.1:9"
    assert config["users"][0]["user"]["token"] == "t0k3n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "demo-kubeconfig.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "clusters.demo", "--port", "0", "--kubeconfig", str(kubeconfig)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("demo cluster serving http://127.0.0.1:")
        from kubernetes.config import new_client_from_config

        api = new_client_from_config(config_file=str(kubeconfig), context="demo")
        names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        assert "sandbox" in names
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
    assert process.stderr is not None
    assert process.stderr.read() == ""  # quiet unless TIDEWATCH_DEMO_LOG asks


def test_a_watch_that_times_out_ends_without_a_bookmark_of_its_own(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    # A real kube-apiserver sends no BOOKMARK as a timed-out watch ends (docs/watch.md, "Against
    # a real kube-apiserver"): a quiet watch is an empty stream, and clients must not count on one.
    fresh_cluster.bookmark_interval = 3600
    response = client.CustomObjectsApi(fresh_client).list_namespaced_custom_object(
        *HR,
        "bigbang",
        "helmreleases",
        watch=True,
        resource_version=str(fresh_cluster.resource_version),
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    assert response.status == 200
    assert response.data.strip() == b""
