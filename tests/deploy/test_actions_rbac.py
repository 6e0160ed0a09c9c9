"""deploy/actions/*: the opt-in write RBAC for actions, one overlay per mode, on the unchanged base.

Each overlay must be the base plus exactly its ClusterRole and ClusterRoleBinding (and the web
pods' token, which sends the patch); the service-account role patches exactly the kinds that
have actions, the impersonate role only impersonates. The real API server checks the same
roles in tests/conformance/test_impersonation.py.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusters.collect.argo import ARGO_KINDS
from clusters.collect.flux import FLUX_KINDS
from tests.deploy.helpers import DEPLOY, kustomize_resources, load_yaml_documents
from tests.deploy.test_kubernetes import plural_of

BASE = DEPLOY / "kubernetes"
OVERLAYS = {
    "service-account": ("tidewatch-actions", DEPLOY / "actions" / "service-account"),
    "impersonate": ("tidewatch-impersonator", DEPLOY / "actions" / "impersonate"),
    "impersonate-constrained": (
        "tidewatch-impersonator",
        DEPLOY / "actions" / "impersonate-constrained",
    ),
}
# Flux kinds with reconcile/suspend/resume (flux reconcile|suspend|resume <kind>); notification
# kinds get no action in Tidewatch. Argo CD: refresh/sync/terminate on Applications only.
ACTION_KINDS = [s for s in FLUX_KINDS if s.group != "notification.toolkit.fluxcd.io"] + [
    s for s in ARGO_KINDS if s.kind == "Application"
]
EVENTS_CREATE = {("", "events", "create"), ("events.k8s.io", "events", "create")}


def grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) for every combination a role's rules allow."""
    out = set()
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out


def _apply_component(objects: list[dict[str, Any]], directory: Path) -> None:
    """The JSON 6902 patches of a Component (replace/add only), as kustomize applies them."""
    component = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    assert set(component) == {"apiVersion", "kind", "patches"}, "patches only"
    for patch in component["patches"]:
        target = patch["target"]
        matched = [
            o
            for o in objects
            if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]
        ]
        assert len(matched) == 1, target
        for op in yaml.safe_load(patch["patch"]):
            assert op["op"] in ("replace", "add"), op
            *parents, leaf = op["path"].strip("/").split("/")
            node = matched[0]
            for part in parents:
                node = node[part]
            if op["op"] == "replace":
                assert leaf in node, op
            node[leaf] = op["value"]


def overlay_objects(directory: Path) -> list[dict[str, Any]]:
    """What `kustomize build` gives for an actions overlay (resources, then components),
    without labels and generators, which the checks below do not need."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= {"apiVersion", "kind", "labels", "resources", "components"}
    objects = copy.deepcopy(kustomize_resources(directory))
    for entry in kustomization.get("components", []):
        _apply_component(objects, (directory / entry).resolve())
    return objects


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("mode", OVERLAYS)
def test_an_overlay_is_the_base_plus_its_role_binding_and_the_web_token(mode):
    name, directory = OVERLAYS[mode]
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert kustomization["resources"][0] == "../../kubernetes"
    base = {key(o): o for o in kustomize_resources(BASE)}
    overlay = {key(o): o for o in overlay_objects(directory)}
    assert set(overlay) - set(base) == {("ClusterRole", name), ("ClusterRoleBinding", name)}
    assert set(base) <= set(overlay)
    changed = {k for k in base if base[k] != overlay[k]}
    assert changed == {("Deployment", "tidewatch-web")}
    web = copy.deepcopy(overlay[("Deployment", "tidewatch-web")])
    assert web["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    web["spec"]["template"]["spec"]["automountServiceAccountToken"] = False
    assert web == base[("Deployment", "tidewatch-web")], "only the token mount differs"
    binding = overlay[("ClusterRoleBinding", name)]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": name,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tidewatch", "namespace": "tidewatch"}
    ]


def test_the_base_stays_read_only_and_knows_nothing_of_actions():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert all("actions" not in entry for entry in kustomization["resources"])
    (reader,) = [o for o in kustomize_resources(BASE) if o["kind"] == "ClusterRole"]
    assert {verb for _, _, verb in grants_with_urls(reader)} == {"get", "list", "watch"}


def grants_with_urls(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    rules = [r for r in role["rules"] if "nonResourceURLs" not in r]
    return grants({"rules": rules})


def role_of(mode: str) -> dict[str, Any]:
    name, directory = OVERLAYS[mode]
    (role,) = [
        o
        for o in load_yaml_documents(directory / "rbac.yaml")
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == name
    ]
    return role


def test_the_service_account_role_patches_exactly_the_kinds_with_actions():
    wanted = {(s.group, plural_of(s.group, s.kind), "patch") for s in ACTION_KINDS}
    assert len(wanted) == 11
    assert grants(role_of("service-account")) == wanted | EVENTS_CREATE


def test_the_impersonate_role_only_impersonates_and_writes_events():
    assert (
        grants(role_of("impersonate"))
        == {
            ("", "users", "impersonate"),
            ("", "groups", "impersonate"),
        }
        | EVENTS_CREATE
    )


def test_the_constrained_role_impersonates_only_to_patch_the_kinds_with_actions():
    patches = {g for g in grants(role_of("service-account")) if g[2] == "patch"}
    assert (
        grants(role_of("impersonate-constrained"))
        == {
            ("authentication.k8s.io", "users", "impersonate:user-info"),
            ("authentication.k8s.io", "groups", "impersonate:user-info"),
        }
        | {(g, r, "impersonate-on:user-info:patch") for g, r, _ in patches}
        | EVENTS_CREATE
    )


@pytest.mark.parametrize("mode", OVERLAYS)
def test_no_wildcards_no_secrets_no_status_no_delete(mode):
    for rule in role_of(mode)["rules"]:
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(field, []), rule
        assert not {"delete", "deletecollection", "update", "escalate", "bind"} & set(rule["verbs"])
        assert not any(r == "secrets" or "/" in r for r in rule["resources"]), rule


def test_the_example_operator_role_is_one_namespace_and_patch_only():
    documents = load_yaml_documents(DEPLOY / "examples" / "operator-rbac.yaml")
    (role,) = [d for d in documents if d["kind"] == "Role"]
    (binding,) = [d for d in documents if d["kind"] == "RoleBinding"]
    assert {d["kind"] for d in documents} == {"Role", "RoleBinding"}, "no cluster-wide grant"
    namespace = role["metadata"]["namespace"]
    assert binding["metadata"]["namespace"] == namespace
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    (subject,) = binding["subjects"]
    assert subject["kind"] == "Group", "the OIDC group, sent as Impersonate-Group"
    assert grants(role) == {g for g in grants(role_of("service-account")) if g[2] == "patch"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("mode", OVERLAYS)
def test_kustomize_builds_the_overlay_as_checked_above(mode):
    name, directory = OVERLAYS[mode]

    def build(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
        result = subprocess.run(
            ["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return {key(d): d for d in yaml.safe_load_all(result.stdout) if d}

    base, overlay = build(BASE), build(directory)
    assert set(overlay) - set(base) == {("ClusterRole", name), ("ClusterRoleBinding", name)}
    assert {k for k in base if base[k] != overlay[k]} == {("Deployment", "tidewatch-web")}
    role = overlay[("ClusterRole", name)]
    assert role["metadata"]["labels"] == {"app.kubernetes.io/part-of": "tidewatch"}
    assert grants(role) == grants(role_of(mode))
