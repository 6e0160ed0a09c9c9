"""The conformance tier: Tidewatch against a real kube-apiserver (v1.36) and etcd.

`scripts/run-tests.sh` starts one (`../shared/realapi/up.sh`) for the whole run when the shared
directory is beside the clone, and exports TIDEWATCH_REALAPI_DIR (where its `kubeconfig` is).
Without it the tier skips with the reason; with TIDEWATCH_REQUIRE_SERVICES=1 and the shared
directory present, a server that did not come up is a failure, not a skip.

The server is shared by the run (SQLite, then PostgreSQL): every test works in namespaces of its
own and removes them, and the RBAC objects are removed at the end of the session.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

ROOT = Path(__file__).resolve().parents[2]
RBAC = ROOT / "deploy" / "kubernetes" / "rbac.yaml"
# The token user the `tidewatch` context authenticates as: what the in-cluster ServiceAccount is.
TIDEWATCH_USER = "system:serviceaccount:tidewatch:tidewatch"


def realapi_home() -> Path:
    """Where up.sh/down.sh live: ../shared/realapi beside the clone (as in CI), unless
    TIDEWATCH_REALAPI_HOME says otherwise (a git worktree elsewhere)."""
    return Path(os.environ.get("TIDEWATCH_REALAPI_HOME") or ROOT.parent / "shared" / "realapi")


def samples_dir() -> Path:
    return realapi_home().parent / "reference" / "samples"


def _unavailable() -> str:
    """Why the real API server cannot be used ("" when it can)."""
    directory = os.environ.get("TIDEWATCH_REALAPI_DIR", "")
    if not directory:
        return (
            "no real kube-apiserver: TIDEWATCH_REALAPI_DIR is not set "
            "(`bash scripts/run-tests.sh tests/conformance` starts one from ../shared/realapi)"
        )
    kubeconfig = Path(directory) / "kubeconfig"
    if not kubeconfig.is_file():
        return f"no real kube-apiserver: {kubeconfig} does not exist (did up.sh fail?)"
    try:
        api = k8s_config.new_client_from_config(str(kubeconfig), context="admin")
        with api:
            k8s.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # any failure means: not usable, and say why
        return f"real kube-apiserver from {kubeconfig} not reachable: {type(exc).__name__}: {exc}"
    return ""


@pytest.fixture(scope="session")
def realapi_kubeconfig() -> Path:
    reason = _unavailable()
    if reason:
        if os.environ.get("TIDEWATCH_REQUIRE_SERVICES") == "1" and realapi_home().is_dir():
            pytest.fail(f"{reason}; required because {realapi_home()} exists")
        pytest.skip(reason)
    return Path(os.environ["TIDEWATCH_REALAPI_DIR"]) / "kubeconfig"


@pytest.fixture(autouse=True)
def _needs_realapi(realapi_kubeconfig: Path) -> None:
    """Every test of the tier needs the server: skip (or fail) all of them with one reason."""


def api_client(kubeconfig: Path, context: str) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(str(kubeconfig), context=context)


@pytest.fixture(scope="session")
def admin(realapi_kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    """system:masters: creates what the tests read, writes status, binds RBAC."""
    api = api_client(realapi_kubeconfig, "admin")
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="session")
def tidewatch_rbac(admin: k8s.ApiClient) -> Iterator[list[dict[str, Any]]]:
    """The project's own ClusterRole and ClusterRoleBinding from deploy/kubernetes/rbac.yaml,
    as shipped: the binding's ServiceAccount subject is the `tidewatch` context's user."""
    documents = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    objects = [d for d in documents if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    (binding,) = [d for d in objects if d["kind"] == "ClusterRoleBinding"]
    (subject,) = binding["subjects"]
    assert f"system:serviceaccount:{subject['namespace']}:{subject['name']}" == TIDEWATCH_USER
    rbac = k8s.RbacAuthorizationV1Api(admin)
    for obj in objects:
        create, replace, _ = _rbac_verbs(rbac, obj["kind"])
        try:
            create(obj)
        except ApiException as exc:
            if exc.status != 409:
                raise
            replace(obj["metadata"]["name"], obj)
    try:
        yield objects
    finally:
        for obj in reversed(objects):
            _, _, delete = _rbac_verbs(rbac, obj["kind"])
            try:
                delete(obj["metadata"]["name"])
            except ApiException as exc:
                if exc.status != 404:
                    raise


def _rbac_verbs(rbac: k8s.RbacAuthorizationV1Api, kind: str) -> tuple[Callable[..., Any], ...]:
    if kind == "ClusterRole":
        return rbac.create_cluster_role, rbac.replace_cluster_role, rbac.delete_cluster_role
    return (
        rbac.create_cluster_role_binding,
        rbac.replace_cluster_role_binding,
        rbac.delete_cluster_role_binding,
    )


@pytest.fixture
def tidewatch_api(realapi_kubeconfig: Path, tidewatch_rbac) -> Iterator[k8s.ApiClient]:
    """The `tidewatch` user, with the shipped read-only ClusterRole bound."""
    api = api_client(realapi_kubeconfig, "tidewatch")
    try:
        yield api
    finally:
        api.close()


class Namespaces:
    """Namespaces a test creates; deleted with everything in them at the end of the test."""

    def __init__(self, admin: k8s.ApiClient) -> None:
        self.core = k8s.CoreV1Api(admin)
        self.custom = k8s.CustomObjectsApi(admin)
        self.extensions = k8s.ApiextensionsV1Api(admin)
        self.created: list[str] = []
        self.objects: list[tuple[str, str, str, str, str]] = []  # group, version, ns, plural, name
        self.prefix = f"tw-{uuid.uuid4().hex[:6]}"

    def create(self, suffix: str) -> str:
        name = f"{self.prefix}-{suffix}"
        self.core.create_namespace({"metadata": {"name": name}})
        self.created.append(name)
        return name

    def apply_sample(
        self, path: Path, namespace: str, name: str = "", **spec: Any
    ) -> dict[str, Any]:
        """Create a sample object in ``namespace`` (named ``name``, or as the sample is; only its
        name, labels and annotations kept from metadata: no finalizers, which no controller
        here would remove), then write its status through the status subresource, as a
        controller does."""
        sample = yaml.safe_load(path.read_text())
        group, version = sample["apiVersion"].split("/")
        plural = PLURALS[sample["kind"]]
        meta = {**sample["metadata"], "name": name or sample["metadata"]["name"]}
        body = {
            "apiVersion": sample["apiVersion"],
            "kind": sample["kind"],
            "metadata": {
                "name": meta["name"],
                **{k: meta[k] for k in ("labels", "annotations") if meta.get(k)},
            },
            "spec": {**sample.get("spec", {}), **spec},
        }
        created = self.custom.create_namespaced_custom_object(
            group, version, namespace, plural, body
        )
        self.objects.append((group, version, namespace, plural, meta["name"]))
        if "status" in sample:
            created["status"] = sample["status"]
            # Flux's CRDs have a status subresource (the controllers write it there); Argo CD's
            # Application has none, and its controller updates the object itself.
            replace = (
                self.custom.replace_namespaced_custom_object_status
                if self._has_status_subresource(group, plural, version)
                else self.custom.replace_namespaced_custom_object
            )
            created = replace(group, version, namespace, plural, meta["name"], created)
        return created

    def _has_status_subresource(self, group: str, plural: str, version: str) -> bool:
        crd = self.extensions.read_custom_resource_definition(f"{plural}.{group}")
        (served,) = [v for v in crd.spec.versions if v.name == version]
        return bool(served.subresources and served.subresources.status is not None)

    def cleanup(self) -> None:
        for group, version, namespace, plural, name in reversed(self.objects):
            try:
                self.custom.delete_namespaced_custom_object(group, version, namespace, plural, name)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        for name in self.created:
            try:
                self.core.delete_namespace(name)
                # No kube-controller-manager runs here: finish what its namespace controller
                # would, so the namespace is gone rather than Terminating for ever.
                self.core.replace_namespace_finalize(
                    name, {"metadata": {"name": name}, "spec": {"finalizers": []}}
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise


PLURALS = {
    "Kustomization": "kustomizations",
    "GitRepository": "gitrepositories",
    "HelmRelease": "helmreleases",
    "HelmRepository": "helmrepositories",
    "Application": "applications",
    "AppProject": "appprojects",
}


@pytest.fixture
def namespaces(admin: k8s.ApiClient) -> Iterator[Namespaces]:
    made = Namespaces(admin)
    try:
        yield made
    finally:
        made.cleanup()


# --- etcd and a second API server without the watch cache (tests/conformance/test_watch.py) ------


def realapi_dir(kubeconfig: Path) -> Path:
    return kubeconfig.parent


def _env(directory: Path) -> dict[str, str]:
    lines = (directory / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _apiserver_argv(directory: Path) -> list[str]:
    """The running API server's own command line (up.sh's flags, paths relative to DIR)."""
    pid = _env(directory)["APISERVER_PID"]
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


@pytest.fixture(scope="session")
def etcd_url(realapi_kubeconfig: Path) -> str:
    """etcd's client URL, as the API server was told it (up.sh writes no URL for etcd)."""
    for arg in _apiserver_argv(realapi_dir(realapi_kubeconfig)):
        if arg.startswith("--etcd-servers="):
            return arg.split("=", 1)[1].split(",")[0]
    pytest.fail("the API server's command line names no --etcd-servers")


def _etcd(url: str, call: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call to etcd's v3 HTTP gateway (etcd 3.4: /v3/..., keys base64, numbers strings)."""
    request = urllib.request.Request(
        f"{url}/v3/{call}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def compact_etcd(url: str) -> int:
    """Compact etcd's history up to its current revision (what kube-apiserver's own compactor
    does every 5 minutes) and return that revision: every older resourceVersion is then gone
    from etcd."""
    head = _etcd(url, "kv/range", {"key": "AA==", "range_end": "AA==", "count_only": True})
    revision = int(head["header"]["revision"])
    _etcd(url, "kv/compaction", {"revision": str(revision), "physical": True})
    return revision


@pytest.fixture(scope="session")
def uncached_kubeconfig(realapi_kubeconfig: Path, tmp_path_factory) -> Iterator[Path]:
    """A second kube-apiserver over the same etcd, started with ``--watch-cache=false``: the
    same users, CRDs and RBAC, but every list and watch goes to etcd, so etcd's compaction is
    seen by clients as it is (the first server's watch cache hides it; see docs/watch.md).
    Starts in ~2 s; stopped by its PID at the end of the session."""
    directory = realapi_dir(realapi_kubeconfig)
    port = _free_port()
    argv = [
        arg
        for arg in _apiserver_argv(directory)
        if not arg.startswith(("--secure-port=", "--cert-dir="))
    ]
    argv += [f"--secure-port={port}", "--cert-dir=pki/generated-uncached", "--watch-cache=false"]
    log = (directory / "logs" / "kube-apiserver-uncached.log").open("wb")
    process = subprocess.Popen(
        argv, cwd=directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    config = yaml.safe_load(realapi_kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{port}"
    kubeconfig = tmp_path_factory.mktemp("uncached") / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    try:
        _wait_ready(kubeconfig, process)
        yield kubeconfig
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(kubeconfig: Path, process: subprocess.Popen) -> None:
    """Until /readyz answers ok (bounded: 60 s), or the process exits."""
    api = api_client(kubeconfig, "admin")
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                url = f"{api.configuration.host}/readyz"
                response = api.call_api("GET", url, _request_timeout=5)
                if response.status == 200:
                    return
                exc: Exception = RuntimeError(f"/readyz answered {response.status}")
            except Exception as error:  # not up yet: refused, or reset while it starts
                exc = error
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the API server without watch cache did not start: {exc}")
            time.sleep(0.2)  # polling a process that is starting, not waiting for a race
    finally:
        api.close()
