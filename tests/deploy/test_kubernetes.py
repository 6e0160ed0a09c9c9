"""deploy/kubernetes (the Kustomize base), deploy/quickstart and deploy/examples, parsed.

The RBAC must grant read access to every kind Tidewatch lists and nothing else: no write verb,
no Secrets, no wildcards.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import import_module

import pytest
import yaml
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import resolve

from clusters.collect.argo import ARGO_KINDS
from clusters.collect.core import EVENTS, MONITOR_KINDS, NAMESPACES, PODS, WORKLOAD_KINDS
from clusters.collect.flux import FLUX_KINDS
from clusters.config import load_entries
from clusters.demo.crds import find_crd, load_crds, unknown_fields, validator
from tests.deploy.helpers import (
    DEPLOY,
    ROOT,
    consumed_queues,
    generated_configmaps,
    kustomize_resources,
    load_yaml_documents,
    routed_queues,
    settings_env_names,
)

BASE = DEPLOY / "kubernetes"
OBJECTS = kustomize_resources(BASE)
CONFIGMAPS = generated_configmaps(BASE)
CORE_PLURALS = {
    ("", "Namespace"): "namespaces",
    ("", "Event"): "events",
    ("apps", "Deployment"): "deployments",
    ("apps", "StatefulSet"): "statefulsets",
    ("", "Pod"): "pods",
}
SECRET_KEYS = {"secret-key", "database-url", "metrics-token", "postgres-password"}
READ_VERBS = {"get", "list", "watch"}


def by_kind(kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in OBJECTS if o["kind"] == kind}


def deployments() -> dict[str, dict]:
    return by_kind("Deployment")


def tidewatch_containers():
    for name, deployment in deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            if container["image"] == "tidewatch":
                yield name, spec, container


def plural_of(group: str, kind: str) -> str:
    if (group, kind) in CORE_PLURALS:
        return CORE_PLURALS[(group, kind)]
    (plural,) = {crd.plural for crd in load_crds() if (crd.group, crd.kind) == (group, kind)}
    return plural


# --- the base -----------------------------------------------------------------------------------


def test_the_base_has_every_part():
    kinds = {(o["kind"], o["metadata"]["name"]) for o in OBJECTS}
    assert {
        ("Namespace", "tidewatch"),
        ("ServiceAccount", "tidewatch"),
        ("ClusterRole", "tidewatch-reader"),
        ("ClusterRoleBinding", "tidewatch-reader"),
        ("Deployment", "tidewatch-web"),
        ("Deployment", "tidewatch-worker"),
        ("Deployment", "tidewatch-beat"),
        ("Deployment", "tidewatch-redis"),
        ("Service", "tidewatch"),
        ("Service", "tidewatch-redis"),
    } <= kinds
    assert set(CONFIGMAPS) == {"tidewatch-clusters", "tidewatch-env"}
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "tidewatch"
    assert [image["name"] for image in kustomization["images"]] == ["tidewatch"]


def test_the_cluster_role_reads_every_kind_tidewatch_lists():
    (role,) = by_kind("ClusterRole").values()
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    wanted = [*FLUX_KINDS, *ARGO_KINDS, NAMESPACES, *WORKLOAD_KINDS, *MONITOR_KINDS, EVENTS, PODS]
    for spec in wanted:
        key = (spec.group, plural_of(spec.group, spec.kind))
        assert granted.get(key) == READ_VERBS, f"{spec.key}: {granted.get(key)}"
    # PodMetrics cannot be watched: get and list only.
    assert granted.get(("metrics.k8s.io", "pods")) == {"get", "list"}


def test_the_cluster_role_never_writes_never_reads_secrets_and_has_no_wildcards():
    (role,) = by_kind("ClusterRole").values()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        for field in ("apiGroups", "resources", "verbs", "nonResourceURLs", "resourceNames"):
            assert "*" not in rule.get(field, []), rule
        assert "secrets" not in rule.get("resources", []), rule
        assert not any(r.startswith("secrets/") for r in rule.get("resources", [])), rule
        if "nonResourceURLs" in rule:
            assert rule["verbs"] == ["get"]
    # No Role or RoleBinding sneaks in other permissions.
    assert not by_kind("Role") and not by_kind("RoleBinding")


def test_the_binding_gives_the_role_to_the_service_account():
    (binding,) = by_kind("ClusterRoleBinding").values()
    (role,) = by_kind("ClusterRole").values()
    (account,) = by_kind("ServiceAccount").values()
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "tidewatch"}
    ]
    # Only the worker (which polls) carries the account's token.
    mounted = {
        name: d["spec"]["template"]["spec"].get("automountServiceAccountToken")
        for name, d in deployments().items()
    }
    assert mounted["tidewatch-worker"] is True
    assert {k: v for k, v in mounted.items() if k != "tidewatch-worker"} == {
        k: False for k in mounted if k != "tidewatch-worker"
    }


def test_clusters_yaml_polls_the_cluster_it_runs_in(tmp_path):
    path = tmp_path / "clusters.yaml"
    path.write_text(CONFIGMAPS["tidewatch-clusters"]["clusters.yaml"])
    (entry,) = load_entries(path, 30)
    assert entry.error == "" and entry.spec.in_cluster is True and entry.spec.kubeconfig == ""
    env = CONFIGMAPS["tidewatch-env"]
    for _, spec, container in tidewatch_containers():
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        if "clusters" in mounts:
            volume = next(v for v in spec["volumes"] if v["name"] == "clusters")
            assert volume["configMap"]["name"] == "tidewatch-clusters"
            assert env["TIDEWATCH_CLUSTERS"] == f"{mounts['clusters']}/clusters.yaml"


def test_commands_are_real_entry_points():
    for name, _, container in tidewatch_containers():
        command = container["command"]
        if command[0] == "gunicorn":
            module, _, attribute = command[1].partition(":")
            assert callable(getattr(import_module(module), attribute)), name
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "dashboard"] and find_app("dashboard"), name
            assert command[3] in ("worker", "beat"), name
        else:
            assert command[:2] == ["python", "manage.py"], name
            assert command[2] in get_commands(), name
    commands = {
        name: c["command"][3]
        for name, _, c in tidewatch_containers()
        if c["command"][0] == "celery"
    }
    assert commands == {"tidewatch-worker": "worker", "tidewatch-beat": "beat"}


def test_the_worker_consumes_every_queue_tasks_are_sent_to():
    from dashboard.celery import app as celery_app

    (worker,) = [
        c
        for name, _, c in tidewatch_containers()
        if name == "tidewatch-worker" and c["command"][0] == "celery"
    ]
    assert consumed_queues(worker["command"]) == routed_queues(celery_app) == {"celery", "watch"}


def test_settings_come_from_real_variables_and_the_secret():
    names = settings_env_names()
    assert set(CONFIGMAPS["tidewatch-env"]) <= names
    for name, _, container in tidewatch_containers():
        for ref in container.get("envFrom", []):
            assert ref["configMapRef"]["name"] in CONFIGMAPS
        for variable in container.get("env", []):
            assert variable["name"] in names | {"POD_IP", "WEB_CONCURRENCY"}, (name, variable)
            secret = variable.get("valueFrom", {}).get("secretKeyRef")
            if secret:
                assert secret["name"] == "tidewatch" and secret["key"] in SECRET_KEYS
        required = {v["name"] for v in container.get("env", [])}
        assert {"SECRET_KEY", "DATABASE_URL"} <= required, name


def test_pods_run_as_non_root_with_a_read_only_root():
    for name, deployment in deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name


def test_web_probes_and_service_point_at_real_urls_and_ports():
    web = deployments()["tidewatch-web"]["spec"]["template"]
    (container,) = web["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert resolve(path.split("?")[0]).url_name in ("healthz", "readyz"), path
        assert container[probe]["httpGet"]["port"] in ports
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz?checks=database"
    service = by_kind("Service")["tidewatch"]
    assert service["spec"]["selector"].items() <= web["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in ports
    allowed = next(v for v in container["env"] if v["name"] == "ALLOWED_HOSTS")
    assert "$(POD_IP)" in allowed["value"], "kubelet probes and Prometheus use the pod IP"


def test_exactly_one_beat_and_a_broker():
    beat = deployments()["tidewatch-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    redis_url = CONFIGMAPS["tidewatch-env"]["REDIS_URL"]
    assert redis_url == "redis://tidewatch-redis:6379/0" and "tidewatch-redis" in by_kind("Service")


# --- quick start overlay and GitOps examples -------------------------------------------------


def test_the_quickstart_adds_postgres_and_plain_http():
    overlay = DEPLOY / "quickstart"
    objects = kustomize_resources(overlay)
    assert {"tidewatch-postgres"} <= {
        o["metadata"]["name"] for o in objects if o["kind"] == "StatefulSet"
    }
    env = generated_configmaps(overlay)["tidewatch-env"]
    assert env["SECURE_SSL_REDIRECT"] == "false" and "localhost" in env["ALLOWED_HOSTS"]
    assert set(env) <= settings_env_names()
    assert env["REDIS_URL"] == CONFIGMAPS["tidewatch-env"]["REDIS_URL"], "merged, not replaced"


@pytest.mark.parametrize("path", ["examples/flux/tidewatch.yaml", "examples/argocd/tidewatch.yaml"])
def test_gitops_examples_validate_against_the_real_crds(path):
    documents = load_yaml_documents(DEPLOY / path)
    assert documents
    for obj in documents:
        crd = find_crd(obj["apiVersion"], obj["kind"])
        assert crd is not None, obj["kind"]
        errors = [e.message for e in validator(obj["apiVersion"], obj["kind"]).iter_errors(obj)]
        assert errors == [], (obj["kind"], errors)
        assert unknown_fields(obj, crd.schema) == []


def test_gitops_examples_deploy_this_base_with_an_image_override():
    flux = load_yaml_documents(DEPLOY / "examples/flux/tidewatch.yaml")
    argo = load_yaml_documents(DEPLOY / "examples/argocd/tidewatch.yaml")
    paths = [o["spec"]["path"] for o in flux if o["kind"] == "Kustomization"]
    paths += [o["spec"]["source"]["path"] for o in argo]
    assert {p.removeprefix("./") for p in paths} == {"deploy/kubernetes", "deploy/monitoring"}
    for path in paths:
        assert (ROOT / path / "kustomization.yaml").is_file(), path
    (flux_app,) = [
        o for o in flux if o["kind"] == "Kustomization" and o["metadata"]["name"] == "tidewatch"
    ]
    assert flux_app["spec"]["images"][0]["name"] == "tidewatch"
    (argo_app,) = [o for o in argo if o["metadata"]["name"] == "tidewatch"]
    assert argo_app["spec"]["source"]["kustomize"]["images"][0].startswith("tidewatch=")
    for patch in flux_app["spec"]["patches"] + argo_app["spec"]["source"]["kustomize"]["patches"]:
        assert patch["target"]["name"] == "tidewatch-env"
        for op in yaml.safe_load(patch["patch"]):
            assert op["path"].removeprefix("/data/") in CONFIGMAPS["tidewatch-env"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("directory", ["kubernetes", "quickstart", "monitoring"])
def test_kustomize_builds(directory):
    result = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert rendered
    for doc in rendered:
        for container in (
            doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            assert container["image"] != "tidewatch", "the images: entry rewrites it"


def test_the_ingress_example_routes_to_the_web_service():
    (ingress,) = load_yaml_documents(DEPLOY / "examples" / "ingress.yaml")
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = by_kind("Service")[backend["name"]]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    assert rule["host"] in CONFIGMAPS["tidewatch-env"]["ALLOWED_HOSTS"].split(",")
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    assert CONFIGMAPS["tidewatch-env"]["TIDEWATCH_TRUST_X_FORWARDED_PROTO"] == "true"
