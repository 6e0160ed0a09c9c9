"""The ADR-003 platform scenario: valid objects, Big Bang's layout, the not-green cases and the
ownership violations the dashboard must find. Objects are read back through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from clusters.demo.crds import CRD_DIR, find_crd, load_crds, reference_dir, unknown_fields
from clusters.demo.scenario import (
    ALL_NAMESPACES,
    ARGO_APP_NAMESPACES,
    FLUX_NAMESPACES,
    build_platform,
    inventory_id,
)

Obj = dict[str, Any]
GIT_REVISION = re.compile(r"^[\w.\-/]+@sha1:[0-9a-f]{40}$")
BIGBANG_PACKAGES = {
    "istio-crds": "istio-system",
    "istiod": "istio-system",
    "cert-manager": "cert-manager",
    "monitoring": "monitoring",
    "gitlab": "gitlab",
    "argocd": "argocd",
}


@pytest.fixture(scope="module")
def served(demo_cluster: Any, kubeconfig: Any) -> dict[str, list[Obj]]:
    """Every custom object the cluster serves, by kind, listed through the real client."""
    from kubernetes.config import new_client_from_config

    api = new_client_from_config(config_file=str(kubeconfig), context="demo")
    custom = client.CustomObjectsApi(api)
    by_kind: dict[str, list[Obj]] = {}
    for crd in load_crds():
        listed = custom.list_cluster_custom_object(crd.group, crd.version, crd.plural)
        by_kind[crd.kind] = listed["items"]
    api.close()
    return by_kind


def one(objects: list[Obj], namespace: str, name: str) -> Obj:
    found = [o for o in objects if o["metadata"].get("namespace") == namespace]
    found = [o for o in found if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{namespace}/{name}"
    return found[0]


def condition(obj: Obj, type_: str) -> Obj:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def inventory_ids(obj: Obj) -> set[str]:
    return {e["id"] for e in obj["status"]["inventory"]["entries"]}


def argo_claims(app: Obj) -> set[tuple[str, str, str, str]]:
    return {
        (r.get("group", ""), r["kind"], r.get("namespace", ""), r["name"])
        for r in app["status"]["resources"]
    }


# --- validity ------------------------------------------------------------------------------------


def test_every_served_object_validates_against_its_crd_schema(
    served: dict[str, list[Obj]], platform: list[Obj]
) -> None:
    checked = 0
    for crd in load_crds():
        validator = jsonschema.Draft4Validator(crd.schema)
        for obj in served[crd.kind]:
            where = f"{crd.kind} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
            assert errors == [], where
            # A field the schema does not declare would be pruned by a real API server.
            assert unknown_fields(obj, crd.schema) == [], where
            checked += 1
    assert checked == sum(1 for o in platform if find_crd(o["apiVersion"], o["kind"]))


def test_served_kinds_use_the_served_versions(served: dict[str, list[Obj]]) -> None:
    versions = {crd.kind: crd.api_version for crd in load_crds()}
    for kind, objects in served.items():
        for obj in objects:
            assert obj["apiVersion"] == versions[kind]
    assert {o["apiVersion"] for o in served["Alert"] + served["Provider"]} == {
        "notification.toolkit.fluxcd.io/v1beta3"
    }


def test_bundled_crds_are_the_reference_copies() -> None:
    shared = reference_dir() / "crds"
    if not shared.exists():
        pytest.skip("shared reference not checked out")
    # prometheus-operator/ holds trimmed stand-ins, not reference copies (see SOURCES.md).
    bundled = sorted(CRD_DIR.glob("flux/*.yaml")) + sorted(CRD_DIR.glob("argocd/*.yaml"))
    assert len(bundled) == 18
    for path in bundled:
        assert path.read_bytes() == (shared / path.parent.name / path.name).read_bytes(), path.name
    assert (CRD_DIR / "SOURCES.md").exists()


def test_scenario_is_deterministic_for_a_given_time() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert build_platform(now) == build_platform(now)


def test_uids_are_unique(platform: list[Obj]) -> None:
    uids = [o["metadata"]["uid"] for o in platform]
    assert len(uids) == len(set(uids))


# --- namespaces ----------------------------------------------------------------------------------


def test_namespaces(api_client: ApiClient) -> None:
    namespaces = {n.metadata.name: n for n in client.CoreV1Api(api_client).list_namespace().items}
    assert set(namespaces) == set(ALL_NAMESPACES)
    expected = {
        "flux-system", "bigbang", "istio-system", "monitoring", "gitlab", "cert-manager", "argocd",
        "portfolio", "data-platform", "ai-services", "demo-apps", "kube-system", "default",
        "sandbox",
    }  # fmt: skip
    assert set(namespaces) == expected
    for name, ns in namespaces.items():
        assert ns.metadata.labels["kubernetes.io/metadata.name"] == name
        assert ns.status.phase == "Active"
    # Who created each namespace is visible in its labels; sandbox has no owner at all.
    assert namespaces["monitoring"].metadata.labels["helm.toolkit.fluxcd.io/name"] == "bigbang"
    assert namespaces["portfolio"].metadata.labels["kustomize.toolkit.fluxcd.io/name"] == "tenants"
    assert set(namespaces["sandbox"].metadata.labels) == {"kubernetes.io/metadata.name"}


# --- Flux ----------------------------------------------------------------------------------------


def test_flux_system(served: dict[str, list[Obj]], api_client: ApiClient) -> None:
    repo = one(served["GitRepository"], "flux-system", "flux-system")
    assert GIT_REVISION.match(repo["status"]["artifact"]["revision"])
    assert repo["status"]["artifact"]["revision"].startswith("main@sha1:")
    assert condition(repo, "Ready")["status"] == "True"
    root = one(served["Kustomization"], "flux-system", "flux-system")
    ids = inventory_ids(root)
    assert "_flux-system__Namespace" in ids
    assert (
        "_helmreleases.helm.toolkit.fluxcd.io_apiextensions.k8s.io_CustomResourceDefinition" in ids
    )
    assert "flux-system_helm-controller_apps_Deployment" in ids
    assert root["status"]["lastAppliedRevision"] == repo["status"]["artifact"]["revision"]
    assert len(root["status"]["history"]) == 2
    infra = one(served["Kustomization"], "flux-system", "infrastructure")
    # ':' in RBAC names is encoded as '__' (cli-utils ObjMetadata).
    assert "_platform__namespace-admin_rbac.authorization.k8s.io_ClusterRole" in inventory_ids(
        infra
    )
    assert inventory_id("", "platform:readonly", "rbac.authorization.k8s.io", "ClusterRole") in (
        inventory_ids(infra)
    )
    apps = client.AppsV1Api(api_client)
    for name in (
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ):
        deployment = apps.read_namespaced_deployment(name, "flux-system")
        assert deployment.status.ready_replicas == deployment.status.available_replicas == 1
        available = next(c for c in deployment.status.conditions if c.type == "Available")
        assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
        assert deployment.metadata.labels["kustomize.toolkit.fluxcd.io/name"] == "flux-system"


def test_bigbang_layout(served: dict[str, list[Obj]]) -> None:
    assert one(served["GitRepository"], "bigbang", "bigbang")["spec"]["ref"] == {"tag": "3.30.0"}
    umbrella = one(served["HelmRelease"], "bigbang", "bigbang")
    assert umbrella["spec"]["targetNamespace"] == "bigbang"
    assert umbrella["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] == "environment"
    assert one(served["Kustomization"], "bigbang", "environment")["spec"]["decryption"] == {
        "provider": "sops",
        "secretRef": {"name": "sops-gpg"},
    }
    for name, target in BIGBANG_PACKAGES.items():
        hr = one(served["HelmRelease"], "bigbang", name)
        assert hr["spec"]["targetNamespace"] == target
        labels = hr["metadata"]["labels"]
        assert labels["helm.toolkit.fluxcd.io/name"] == "bigbang"
        assert labels["helm.toolkit.fluxcd.io/namespace"] == "bigbang"
        assert labels["app.kubernetes.io/part-of"] == "bigbang"
        assert labels["app.kubernetes.io/name"] == name
        assert hr["status"]["helmChart"] == f"bigbang/bigbang-{name}"
        one(served["HelmChart"], "bigbang", f"bigbang-{name}")
        source = hr["spec"]["chart"]["spec"]["sourceRef"]
        assert source["namespace"] == "bigbang"
        if source["kind"] == "GitRepository":
            repo = one(served["GitRepository"], "bigbang", source["name"])
            assert GIT_REVISION.match(repo["status"]["artifact"]["revision"])
        else:
            assert one(served["HelmRepository"], "bigbang", source["name"])["spec"]["type"] == "oci"
        assert hr["status"]["history"][0]["namespace"] == target
        assert {e["id"].split("_")[0] for e in hr["status"]["inventory"]["entries"]} <= {"", target}
        assert inventory_id("bigbang", name, "helm.toolkit.fluxcd.io", "HelmRelease") in (
            inventory_ids(umbrella)
        )
    depends = {
        hr["metadata"]["name"]: [d["name"] for d in hr["spec"].get("dependsOn", [])]
        for hr in served["HelmRelease"]
    }
    assert depends["istiod"] == ["istio-crds"]
    for name in ("monitoring", "gitlab", "argocd"):
        assert "istiod" in depends[name]


def test_argocd_is_deployed_by_flux(served: dict[str, list[Obj]], api_client: ApiClient) -> None:
    hr = one(served["HelmRelease"], "bigbang", "argocd")
    ids = inventory_ids(hr)
    assert "argocd_argocd-server_apps_Deployment" in ids
    assert "argocd_argocd-application-controller_apps_StatefulSet" in ids
    assert "argocd_applications_argoproj.io_AppProject" in ids
    assert "argocd_platform-apps_argoproj.io_Application" in ids
    apps = client.AppsV1Api(api_client)
    for name in (
        "argocd-server",
        "argocd-repo-server",
        "argocd-applicationset-controller",
        "argocd-redis",
    ):
        deployment = apps.read_namespaced_deployment(name, "argocd")
        assert deployment.metadata.labels["helm.toolkit.fluxcd.io/name"] == "argocd"
        assert deployment.metadata.labels["helm.toolkit.fluxcd.io/namespace"] == "bigbang"
    controller = apps.read_namespaced_stateful_set("argocd-application-controller", "argocd")
    assert controller.status.ready_replicas == 1
    for obj in (
        one(served["AppProject"], "argocd", "applications"),
        one(served["Application"], "argocd", "platform-apps"),
        one(served["ApplicationSet"], "argocd", "demo-apps"),
    ):
        assert obj["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"] == "argocd"
    assert "labels" not in one(served["AppProject"], "argocd", "default")["metadata"]


def test_notification_objects_have_no_status(served: dict[str, list[Obj]]) -> None:
    for kind in ("Provider", "Alert"):
        obj = one(served[kind], "monitoring", "grafana")
        assert "status" not in obj
    assert one(served["Provider"], "monitoring", "grafana")["spec"]["type"] == "grafana"


def test_image_automation(served: dict[str, list[Obj]]) -> None:
    policy = one(served["ImagePolicy"], "flux-system", "tidewatch")
    assert policy["status"]["latestRef"]["tag"] == "1.4.2"
    assert (
        condition(one(served["ImageRepository"], "flux-system", "tidewatch"), "Ready")["status"]
        == "True"
    )


# --- Argo CD -------------------------------------------------------------------------------------


def test_applications(served: dict[str, list[Obj]]) -> None:
    apps = {a["metadata"]["name"]: a for a in served["Application"]}
    assert {a["metadata"]["namespace"] for a in apps.values()} == {"argocd"}
    destinations = {name: a["spec"]["destination"]["namespace"] for name, a in apps.items()}
    for namespace in ARGO_APP_NAMESPACES:
        assert namespace in destinations.values()
    # Argo CD >= 3.0 layout everywhere except ai-services, which persists per-resource health.
    for name, app in apps.items():
        has_health = any("health" in r for r in app["status"]["resources"])
        if name == "ai-services":
            assert has_health and "resourceHealthSource" not in app["status"]
        else:
            assert not has_health and app["status"]["resourceHealthSource"] == "appTree"
        assert app["status"]["health"]["status"] in ("Healthy", "Progressing")
        assert "lastTransitionTime" in app["status"]["health"]
    assert apps["portfolio"]["metadata"]["generation"] > 100  # no status subresource


def test_app_of_apps(served: dict[str, list[Obj]]) -> None:
    root = one(served["Application"], "argocd", "platform-apps")
    assert root["status"]["summary"]["isAppOfApps"] is True
    children = {r["name"] for r in root["status"]["resources"] if r["kind"] == "Application"}
    assert children == {"portfolio", "data-platform", "ai-services"}
    for child in children:
        app = one(served["Application"], "argocd", child)
        tracking = app["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"]
        assert tracking == f"platform-apps:argoproj.io/Application:argocd/{child}"


def test_applicationset_owns_its_applications(served: dict[str, list[Obj]]) -> None:
    appset = one(served["ApplicationSet"], "argocd", "demo-apps")
    generated = [
        a for a in served["Application"]
        if any(o["kind"] == "ApplicationSet" for o in a["metadata"].get("ownerReferences", []))
    ]  # fmt: skip
    assert {a["metadata"]["name"] for a in generated} == {"demo-apps-dev", "demo-apps-staging"}
    for app in generated:
        owner = app["metadata"]["ownerReferences"][0]
        assert (owner["name"], owner["uid"]) == ("demo-apps", appset["metadata"]["uid"])
        assert owner["controller"] is True
    assert appset["status"]["resourcesCount"] == 2
    assert {r["name"] for r in appset["status"]["resources"]} == {
        "demo-apps-dev",
        "demo-apps-staging",
    }


def test_multi_source_app(served: dict[str, list[Obj]]) -> None:
    app = one(served["Application"], "argocd", "ai-services")
    sources = app["spec"]["sources"]
    assert "source" not in app["spec"]
    assert (
        len(sources) == len(app["status"]["sync"]["revisions"]) == len(app["status"]["sourceTypes"])
    )
    assert sources[1]["ref"] == "values"
    assert (
        app["status"]["operationState"]["syncResult"]["revisions"]
        == app["status"]["sync"]["revisions"]
    )


# --- not green -----------------------------------------------------------------------------------


def test_gitlab_upgrade_failed_and_rolled_back(served: dict[str, list[Obj]]) -> None:
    hr = one(served["HelmRelease"], "bigbang", "gitlab")
    assert (condition(hr, "Ready")["status"], condition(hr, "Ready")["reason"]) == (
        "False",
        "RollbackSucceeded",
    )
    assert condition(hr, "Reconciling")["reason"] == "ProgressingWithRetry"
    released = condition(hr, "Released")
    assert (released["status"], released["reason"]) == ("False", "UpgradeFailed")
    assert "admission webhook" in released["message"]
    assert condition(hr, "Remediated")["status"] == "True"
    history = hr["status"]["history"]
    assert [h["status"] for h in history] == ["deployed", "failed", "superseded"]
    assert history[0]["chartVersion"] == "9.2.4-bb.1"  # the old release still runs
    assert hr["status"]["lastAttemptedRevision"] == "9.3.2-bb.0"
    assert hr["status"]["upgradeFailures"] == 1


def test_kustomization_waiting_on_a_dependency(served: dict[str, list[Obj]]) -> None:
    waiting = one(served["Kustomization"], "flux-system", "platform-certificates")
    ready = condition(waiting, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "DependencyNotReady")
    assert ready["message"] == "dependency 'flux-system/cert-manager-issuers' is not ready"
    assert waiting["spec"]["dependsOn"] == [{"name": "cert-manager-issuers"}]


def test_kustomization_progressing(served: dict[str, list[Obj]]) -> None:
    ks = one(served["Kustomization"], "flux-system", "cert-manager-issuers")
    assert condition(ks, "Reconciling")["status"] == "True"
    assert condition(ks, "Ready")["status"] == "Unknown"
    assert ks["status"]["lastAttemptedRevision"] != ks["status"]["lastAppliedRevision"]
    assert ks["status"]["observedGeneration"] < ks["metadata"]["generation"]


def test_data_platform_out_of_sync(served: dict[str, list[Obj]]) -> None:
    app = one(served["Application"], "argocd", "data-platform")
    assert app["status"]["sync"]["status"] == "OutOfSync"
    drifted = {r["name"] for r in app["status"]["resources"] if r["status"] == "OutOfSync"}
    assert drifted == {"ingest-worker", "pipeline-config"}
    assert "automated" not in app["spec"]["syncPolicy"]
    synced = app["status"]["operationState"]["syncResult"]["revision"]
    assert synced != app["status"]["sync"]["revision"]


def test_ai_services_progressing(served: dict[str, list[Obj]], api_client: ApiClient) -> None:
    app = one(served["Application"], "argocd", "ai-services")
    assert app["status"]["health"]["status"] == "Progressing"
    rolling = next(r for r in app["status"]["resources"] if r["name"] == "inference-gateway"
                   and r["kind"] == "Deployment")  # fmt: skip
    assert rolling["health"]["status"] == "Progressing"
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(
        "inference-gateway", "ai-services"
    )
    assert deployment.status.ready_replicas < deployment.spec.replicas


# --- ownership violations ------------------------------------------------------------------------


def test_violation_argo_app_deploys_into_a_flux_namespace(served: dict[str, list[Obj]]) -> None:
    portfolio = one(served["Application"], "argocd", "portfolio")
    assert ("networking.istio.io", "VirtualService", "istio-system", "portfolio") in argo_claims(
        portfolio
    )
    assert "istio-system" in FLUX_NAMESPACES


def test_violation_object_claimed_by_both_tools(served: dict[str, list[Obj]]) -> None:
    monitoring = one(served["HelmRelease"], "bigbang", "monitoring")
    assert "monitoring_grafana-dashboard-portfolio__ConfigMap" in inventory_ids(monitoring)
    portfolio = one(served["Application"], "argocd", "portfolio")
    assert ("", "ConfigMap", "monitoring", "grafana-dashboard-portfolio") in argo_claims(portfolio)


def test_violation_argo_app_manages_a_cluster_scoped_resource(served: dict[str, list[Obj]]) -> None:
    app = one(served["Application"], "argocd", "data-platform")
    assert ("rbac.authorization.k8s.io", "ClusterRole", "", "data-platform-spark") in argo_claims(
        app
    )


def test_violation_app_in_an_undeclared_namespace(served: dict[str, list[Obj]]) -> None:
    app = one(served["Application"], "argocd", "sandbox-experiments")
    assert app["spec"]["destination"]["namespace"] == "sandbox"
    assert {ns for _, _, ns, _ in argo_claims(app)} == {"sandbox"}
    assert "sandbox" not in FLUX_NAMESPACES + ARGO_APP_NAMESPACES


def test_no_accidental_violations(served: dict[str, list[Obj]]) -> None:
    """Only the deliberate cases cross the boundary; everything else stays on its side."""
    deliberate = {
        ("portfolio", "istio-system"),
        ("portfolio", "monitoring"),
        ("data-platform", ""),
        ("sandbox-experiments", "sandbox"),
        ("platform-apps", "argocd"),
    }
    for app in served["Application"]:
        for _, _, namespace, _ in argo_claims(app):
            if namespace not in ARGO_APP_NAMESPACES:
                assert (app["metadata"]["name"], namespace) in deliberate
    for kind in ("Kustomization", "HelmRelease"):
        for obj in served[kind]:
            for entry in obj["status"].get("inventory", {}).get("entries", []):
                namespace = entry["id"].split("_")[0]
                assert namespace in ("", *FLUX_NAMESPACES, "argocd"), entry["id"]


# --- events --------------------------------------------------------------------------------------


def test_events_point_at_gitops_objects(
    served: dict[str, list[Obj]], api_client: ApiClient
) -> None:
    events = client.CoreV1Api(api_client).list_event_for_all_namespaces().items
    assert len(events) >= 5
    uids = {o["metadata"]["uid"]: o for objects in served.values() for o in objects}
    for e in events:
        target = uids[e.involved_object.uid]
        assert (target["kind"], target["metadata"]["name"]) == (
            e.involved_object.kind,
            e.involved_object.name,
        )
        assert e.first_timestamp <= e.last_timestamp
        assert e.count >= 1
    warning = next(e for e in events if e.type == "Warning")
    assert (warning.involved_object.kind, warning.involved_object.name) == ("HelmRelease", "gitlab")
    assert warning.reason == "UpgradeFailed"
    assert any(
        e.involved_object.name == "data-platform" and "OutOfSync" in e.message for e in events
    )
