"""Kubernetes decides: actions through clusters.impersonation against a real kube-apiserver v1.36.

The `tidewatch` user gets the impersonate overlay's ClusterRole as shipped
(deploy/actions/impersonate/rbac.yaml); the `operator` user, or a group, gets the example Role
(deploy/examples/operator-rbac.yaml) in ONE namespace. The cluster then allows the
`flux reconcile` merge patch there and denies it elsewhere with its own sentence. The
service-account overlay's ClusterRole (deploy/actions/service-account/rbac.yaml) is checked to
be enough for the kinds with actions and no more.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters.demo.crds import load_crds
from clusters.impersonation import impersonated
from clusters.kube import KubeError, get_json
from tests.conformance.conftest import TIDEWATCH_USER, Namespaces, samples_dir

ROOT = Path(__file__).resolve().parents[2]
IMPERSONATE_RBAC = ROOT / "deploy" / "actions" / "impersonate" / "rbac.yaml"
CONSTRAINED_RBAC = ROOT / "deploy" / "actions" / "impersonate-constrained" / "rbac.yaml"
SERVICE_ACCOUNT_RBAC = ROOT / "deploy" / "actions" / "service-account" / "rbac.yaml"
OPERATOR_EXAMPLE = ROOT / "deploy" / "examples" / "operator-rbac.yaml"
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
RECONCILE = {"metadata": {"annotations": {REQUESTED_AT: "2026-12-02T04:00:00.000000000Z"}}}
REFRESH = {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}
KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
APPS = ("argoproj.io", "v1alpha1", "applications")
# One sample per kind with actions: what the controllers would have created.
ACTION_SAMPLES = (
    "flux_bucket_suspended_ready",
    "flux_gitrepository_ready",
    "flux_helmchart_source_unavailable",
    "flux_helmrelease_install_succeeded_ready",
    "flux_helmrepository_index_fetch_failed",
    "flux_imagepolicy_dependency_not_ready",
    "flux_imagerepository_scan_failed",
    "flux_imageupdateautomation_failed",
    "flux_kustomization_ready_inventory_dependson",
    "flux_ocirepository_pull_denied",
    "argocd_application_synced_healthy_with_history",
)


def rbac_objects(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def apply_cluster_rbac(admin: k8s.ApiClient, path: Path) -> Iterator[None]:
    """Create (or replace) a file's ClusterRole and ClusterRoleBinding as shipped; delete them
    afterwards."""
    rbac = k8s.RbacAuthorizationV1Api(admin)
    verbs = {
        "ClusterRole": (
            rbac.create_cluster_role,
            rbac.replace_cluster_role,
            rbac.delete_cluster_role,
        ),
        "ClusterRoleBinding": (
            rbac.create_cluster_role_binding,
            rbac.replace_cluster_role_binding,
            rbac.delete_cluster_role_binding,
        ),
    }
    objects = rbac_objects(path)
    for obj in objects:
        (subject,) = obj.get("subjects") or [
            {"kind": "ServiceAccount", "name": "tidewatch", "namespace": "tidewatch"}
        ]
        assert f"system:serviceaccount:{subject['namespace']}:{subject['name']}" == TIDEWATCH_USER
        create, replace, _ = verbs[obj["kind"]]
        try:
            create(obj)
        except ApiException as exc:
            if exc.status != 409:
                raise
            replace(obj["metadata"]["name"], obj)
    try:
        yield
    finally:
        for obj in reversed(objects):
            try:
                verbs[obj["kind"]][2](obj["metadata"]["name"])
            except ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture
def impersonator(admin, tidewatch_api) -> Iterator[k8s.ApiClient]:
    """The `tidewatch` user with the impersonate overlay's ClusterRole bound."""
    yield from _with(apply_cluster_rbac(admin, IMPERSONATE_RBAC), tidewatch_api)


@pytest.fixture
def constrained(admin, tidewatch_api) -> Iterator[k8s.ApiClient]:
    """The `tidewatch` user with the constrained-impersonation overlay's ClusterRole bound."""
    yield from _with(apply_cluster_rbac(admin, CONSTRAINED_RBAC), tidewatch_api)


@pytest.fixture
def writer(admin, tidewatch_api) -> Iterator[k8s.ApiClient]:
    """The `tidewatch` user with the service-account overlay's ClusterRole bound."""
    yield from _with(apply_cluster_rbac(admin, SERVICE_ACCOUNT_RBAC), tidewatch_api)


def _with(setup: Iterator[None], api: k8s.ApiClient) -> Iterator[k8s.ApiClient]:
    next(setup)
    try:
        yield api
    finally:
        next(setup, None)


def bind_operator_role(admin: k8s.ApiClient, namespace: str, subject: dict[str, str]) -> None:
    """The example Role and its RoleBinding, moved to ``namespace`` and bound to ``subject``."""
    rbac = k8s.RbacAuthorizationV1Api(admin)
    for original in rbac_objects(OPERATOR_EXAMPLE):
        obj = copy.deepcopy(original)
        obj["metadata"]["namespace"] = namespace
        if obj["kind"] == "Role":
            rbac.create_namespaced_role(namespace, obj)
        else:
            obj["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", **subject}]
            rbac.create_namespaced_role_binding(namespace, obj)


def create_sample(namespaces: Namespaces, sample: str, namespace: str) -> tuple[str, ...]:
    """A sample object (spec only: no controller here would act on it); (group, version,
    plural, name)."""
    document = yaml.safe_load((samples_dir() / f"{sample}.yaml").read_text())
    group = document["apiVersion"].split("/")[0]
    (plural,) = {c.plural for c in load_crds() if (c.group, c.kind) == (group, document["kind"])}
    # The version the installed CRD stores (a sample may be of an older, unserved one).
    crd = namespaces.extensions.read_custom_resource_definition(f"{plural}.{group}")
    (version,) = [v.name for v in crd.spec.versions if v.storage]
    name = document["metadata"]["name"]
    body = {
        "apiVersion": f"{group}/{version}",
        "kind": document["kind"],
        "metadata": {"name": name},
        "spec": document["spec"],
    }
    namespaces.custom.create_namespaced_custom_object(group, version, namespace, plural, body)
    namespaces.objects.append((group, version, namespace, plural, name))
    return group, version, plural, name


def patch(api: k8s.ApiClient, ref: tuple[str, ...], namespace: str, body: dict) -> dict:
    group, version, plural, name = ref
    return k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        group, version, namespace, plural, name, body
    )


def refused(call, *args) -> ApiException:
    with pytest.raises(ApiException) as caught:
        call(*args)
    return caught.value


def test_the_operator_may_reconcile_in_its_namespace_and_the_cluster_says_why_not_elsewhere(
    admin, impersonator, namespaces: Namespaces
):
    mine, theirs = namespaces.create("ops"), namespaces.create("other")
    bind_operator_role(admin, mine, {"kind": "User", "name": "operator"})
    operator = impersonated(impersonator, "operator", [])
    for namespace in (mine, theirs):
        ks = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", namespace)
        app = create_sample(namespaces, "argocd_application_synced_healthy_with_history", namespace)
        if namespace == mine:
            assert (
                patch(operator, ks, namespace, RECONCILE)["metadata"]["annotations"]
                == (RECONCILE["metadata"]["annotations"])
            )
            assert patch(operator, app, namespace, REFRESH)["metadata"]["annotations"]
            continue
        denied = refused(patch, operator, ks, namespace, RECONCILE)
        assert denied.status == 403
        assert yaml.safe_load(denied.body)["message"] == (
            f'kustomizations.kustomize.toolkit.fluxcd.io "{ks[3]}" is forbidden: User "operator" '
            f'cannot patch resource "kustomizations" in API group "kustomize.toolkit.fluxcd.io" '
            f'in the namespace "{namespace}"'
        )
        assert refused(patch, operator, app, namespace, REFRESH).status == 403
        stored = namespaces.custom.get_namespaced_custom_object(
            KS[0], KS[1], namespace, KS[2], ks[3]
        )
        assert REQUESTED_AT not in (stored["metadata"].get("annotations") or {})
    # The Role grants patch only: the operator cannot even read, and Tidewatch's error says so
    # in the cluster's words.
    with pytest.raises(KubeError) as caught:
        get_json(operator, f"/apis/{KS[0]}/{KS[1]}/namespaces/{mine}/{KS[2]}")
    assert caught.value.status == 403
    assert 'User "operator" cannot list resource "kustomizations"' in caught.value.message


def test_groups_are_separate_header_lines_and_a_group_bound_role_works(
    admin, impersonator, namespaces: Namespaces
):
    mine = namespaces.create("grp")
    group = f"{namespaces.prefix}-operators"
    bind_operator_role(admin, mine, {"kind": "Group", "name": group})
    ks = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", mine)

    member = impersonated(impersonator, "dana", ["viewers", group])
    review = k8s.AuthenticationV1Api(member).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    assert review.status.user_info.username == "dana"
    assert review.status.user_info.groups == ["viewers", group, "system:authenticated"]
    assert patch(member, ks, mine, RECONCILE)

    # One comma-joined line is one group with a comma in its name: no match, denied.
    joined = impersonated(impersonator, "dana", [f"viewers, {group}"])
    review = k8s.AuthenticationV1Api(joined).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    assert review.status.user_info.groups == [f"viewers, {group}", "system:authenticated"]
    assert refused(patch, joined, ks, mine, RECONCILE).status == 403

    # A name beyond ASCII arrives as written (UTF-8, as client-go sends it).
    review = k8s.AuthenticationV1Api(impersonated(impersonator, "zoë", ["opérateurs"]))
    info = review.create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    ).status.user_info
    assert (info.username, info.groups) == ("zoë", ["opérateurs", "system:authenticated"])


def test_the_impersonate_overlay_gives_tidewatch_no_patch_of_its_own(
    impersonator, namespaces: Namespaces
):
    namespace = namespaces.create("self")
    ks = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", namespace)
    assert refused(patch, impersonator, ks, namespace, RECONCILE).status == 403
    # Writing the TidewatchAction Event is its own right.
    event = {
        "metadata": {"generateName": "tidewatch-action-"},
        "involvedObject": {"kind": "Kustomization", "namespace": namespace, "name": ks[3]},
        "reason": "TidewatchAction",
        "message": "reconcile requested by dana",
        "type": "Normal",
    }
    assert k8s.CoreV1Api(impersonator).create_namespaced_event(namespace, event).reason == (
        "TidewatchAction"
    )


def test_without_the_overlay_tidewatch_cannot_impersonate(tidewatch_api, namespaces: Namespaces):
    namespace = namespaces.create("noimp")
    ks = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", namespace)
    denied = refused(patch, impersonated(tidewatch_api, "operator", []), ks, namespace, RECONCILE)
    assert denied.status == 403
    message = yaml.safe_load(denied.body)["message"]
    assert f'User "{TIDEWATCH_USER}" cannot impersonate' in message


def test_constrained_impersonation_acts_only_to_patch(admin, constrained, namespaces: Namespaces):
    mine, theirs = namespaces.create("cimp"), namespaces.create("cother")
    bind_operator_role(admin, mine, {"kind": "Group", "name": "operators"})
    operator = impersonated(constrained, "operator", ["operators"])
    ks_mine = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", mine)
    ks_theirs = create_sample(namespaces, "flux_kustomization_ready_inventory_dependson", theirs)
    assert patch(operator, ks_mine, mine, RECONCILE)
    # Impersonation allowed, then the operator's own RBAC says no.
    denied = yaml.safe_load(refused(patch, operator, ks_theirs, theirs, RECONCILE).body)
    assert 'User "operator" cannot patch resource "kustomizations"' in denied["message"]
    # Anything but a patch of an action kind is refused before the operator's RBAC is asked.
    custom = k8s.CustomObjectsApi(operator)
    for call, args, verb in [
        (k8s.CoreV1Api(operator).list_namespaced_secret, (mine,), "list"),
        (custom.delete_namespaced_custom_object, (*ks_mine[:2], mine, *ks_mine[2:]), "delete"),
        (custom.get_namespaced_custom_object, (*ks_mine[:2], mine, *ks_mine[2:]), "get"),
    ]:
        denied = refused(call, *args)
        assert denied.status == 403
        message = yaml.safe_load(denied.body)["message"]
        assert f'User "{TIDEWATCH_USER}" cannot impersonate-on:user-info:{verb}' in message


def test_the_service_account_role_is_enough_for_every_kind_with_actions_and_no_more(
    writer, namespaces: Namespaces
):
    namespace = namespaces.create("sa")
    refs = [create_sample(namespaces, sample, namespace) for sample in ACTION_SAMPLES]
    for ref in refs:
        body = REFRESH if ref[0] == "argoproj.io" else RECONCILE
        assert patch(writer, ref, namespace, body)["metadata"]["annotations"], ref
    custom, core = k8s.CustomObjectsApi(writer), k8s.CoreV1Api(writer)
    apps = k8s.AppsV1Api(writer)
    ks = next(r for r in refs if r[2] == "kustomizations")
    denied = {
        "delete": refused(custom.delete_namespaced_custom_object, *ks[:2], namespace, *ks[2:]),
        "replace": refused(
            custom.replace_namespaced_custom_object,
            *ks[:2],
            namespace,
            *ks[2:],
            namespaces.custom.get_namespaced_custom_object(*ks[:2], namespace, *ks[2:]),
        ),
        "patch status": refused(
            custom.patch_namespaced_custom_object_status,
            *ks[:2],
            namespace,
            *ks[2:],
            {"status": {"conditions": []}},
        ),
        "patch alert": refused(
            custom.patch_namespaced_custom_object,
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            namespace,
            "alerts",
            "any",
            {"spec": {"suspend": True}},
        ),
        "patch secret": refused(
            core.patch_namespaced_secret, "any", namespace, {"metadata": {"labels": {"a": "b"}}}
        ),
        "patch deployment": refused(
            apps.patch_namespaced_deployment, "any", namespace, {"spec": {"replicas": 0}}
        ),
        "create crd": refused(
            k8s.ApiextensionsV1Api(writer).create_custom_resource_definition,
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "intruders.example.com"},
                "spec": {
                    "group": "example.com",
                    "names": {"kind": "Intruder", "plural": "intruders"},
                    "scope": "Namespaced",
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {"openAPIV3Schema": {"type": "object"}},
                        }
                    ],
                },
            },
        ),
        "impersonate": refused(
            patch, impersonated(writer, "operator", []), ks, namespace, RECONCILE
        ),
    }
    assert {what: exc.status for what, exc in denied.items()} == dict.fromkeys(denied, 403)
    event = {
        "metadata": {"generateName": "tidewatch-action-"},
        "involvedObject": {"kind": "Kustomization", "namespace": namespace, "name": ks[3]},
        "reason": "TidewatchAction",
        "type": "Normal",
    }
    assert core.create_namespaced_event(namespace, event).reason == "TidewatchAction"
    new_style = {
        "metadata": {"generateName": "tidewatch-action-"},
        "eventTime": "2026-12-02T04:00:00.000000Z",
        "reportingController": "tidewatch",
        "reportingInstance": "tidewatch-web",
        "action": "Reconcile",
        "reason": "TidewatchAction",
        "type": "Normal",
        "regarding": {"kind": "Kustomization", "namespace": namespace, "name": ks[3]},
    }
    # Posted as written: the client's Event model would rewrite eventTime as "+00:00", which
    # the API server refuses.
    method, url, headers, body, _ = writer.param_serialize(
        "POST",
        f"/apis/events.k8s.io/v1/namespaces/{namespace}/events",
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=new_style,
        auth_settings=["BearerToken"],
    )
    response = writer.call_api(method, url, header_params=headers, body=body)
    assert response.status == 201, response.read().decode()[:600]
