"""clusters/impersonation.py: the headers on the wire, what is refused, the demo cluster's RBAC
through impersonation, shared authentication (exec plugins) and bounded connections.

Requests go over real HTTP through the real kubernetes client: to a small server that echoes the
header lines it received exactly as they arrived, and to the demo cluster.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters.demo.rbac import DEMO_OPERATOR, DEMO_OPERATORS_GROUP
from clusters.impersonation import (
    IMPERSONATE,
    SERVICE_ACCOUNT,
    ImpersonationError,
    acting_client,
    impersonated,
)
from clusters.kube import ClusterSpec, build_api_client, get_json

KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
REQUESTED_AT = {
    "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "2026-12-02T04:00:00Z"}}
}


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with the header lines it received, in order, as raw bytes."""

    protocol_version = "HTTP/1.1"
    seen: list[list[tuple[str, bytes]]]

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # http.server decoded the bytes as Latin-1: encoding back gives the bytes as sent.
        lines = [(k, v.encode("latin-1")) for k, v in self.headers.items()]
        self.server.seen.append(lines)  # type: ignore[attr-defined]
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "items": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PATCH = do_POST = _answer  # noqa: N815 (stdlib naming)


@pytest.fixture
def echo() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, token: str = "t") -> k8s.ApiClient:
    configuration = k8s.Configuration()
    configuration.host = url
    configuration.api_key = {"BearerToken": f"Bearer {token}"}
    return k8s.ApiClient(configuration)


def impersonation_lines(lines: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in lines if k.lower().startswith("impersonate-")]


def test_one_user_line_and_one_line_per_group_on_every_kind_of_request(echo):
    base = client_for(f"http://127.0.0.1:{echo.server_port}")
    api = impersonated(base, "alice@example.com", ["ops", "a, b", "ops", "opérateurs"])
    custom = k8s.CustomObjectsApi(api)
    custom.patch_namespaced_custom_object(*KS[:2], "ns", KS[2], "x", REQUESTED_AT)
    custom.list_namespaced_custom_object(*KS[:2], "ns", KS[2])
    get_json(api, "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations")
    k8s.CustomObjectsApi(base).list_namespaced_custom_object(*KS[:2], "ns", KS[2])

    *as_alice, as_tidewatch = echo.seen
    assert len(as_alice) == 3
    for lines in as_alice:
        assert impersonation_lines(lines) == [
            ("Impersonate-User", b"alice@example.com"),
            ("Impersonate-Group", b"ops"),  # once: the API server would list it twice
            ("Impersonate-Group", b"a, b"),  # one group with a comma, not two
            ("Impersonate-Group", "opérateurs".encode()),  # UTF-8, as client-go sends it
        ]
        assert dict(lines)["authorization"] == b"Bearer t"
    assert impersonation_lines(as_tidewatch) == [], "the base client never impersonates"


def test_a_callers_own_impersonation_headers_are_replaced_not_forwarded(echo):
    api = impersonated(client_for(f"http://127.0.0.1:{echo.server_port}"), "alice", [])
    api.call_api(
        "GET",
        f"{api.configuration.host}/api",
        header_params={"Impersonate-User": "admin", "Impersonate-Group": "system:masters"},
    )
    (lines,) = echo.seen
    assert impersonation_lines(lines) == [("Impersonate-User", b"alice")]


@pytest.mark.parametrize(
    ("username", "groups", "why"),
    [
        ("", [], "empty"),
        ("alice\r\nImpersonate-Group: system:masters", [], "control"),
        ("alice\n", [], "control"),
        ("al\x00ice", [], "control"),
        ("al\tice", [], "control"),
        ("al\x7fice", [], "control"),
        ("al\u2028ice", [], "control"),
        ("al\u200bice", [], "control"),  # zero-width space: a look-alike name
        (" alice", [], "white space"),
        ("alice ", [], "white space"),
        ("system:admin", [], "system identity"),
        ("system:serviceaccount:kube-system:default", [], "system identity"),
        ("alice", ["system:masters"], "system identity"),
        ("alice", [""], "empty"),
        ("alice", ["ops\r\n"], "control"),
        ("alice", "ops", "not one string"),
        (None, [], "empty"),
    ],
)
def test_names_the_api_server_would_misread_are_refused_before_anything_is_sent(
    echo, username, groups, why
):
    base = client_for(f"http://127.0.0.1:{echo.server_port}")
    with pytest.raises(ImpersonationError, match=why):
        impersonated(base, username, groups)
    assert echo.seen == []


@dataclass(frozen=True)
class Someone:
    username: str
    groups: tuple[str, ...]


def test_only_the_impersonate_mode_impersonates(echo):
    base = client_for(f"http://127.0.0.1:{echo.server_port}")
    someone = Someone("alice", ("ops",))
    assert acting_client(base, SERVICE_ACCOUNT, someone) is base
    acting_client(base, SERVICE_ACCOUNT, someone).call_api("GET", f"{base.configuration.host}/api")
    acting_client(base, IMPERSONATE, someone).call_api("GET", f"{base.configuration.host}/api")
    as_tidewatch, as_alice = echo.seen
    assert impersonation_lines(as_tidewatch) == []
    assert impersonation_lines(as_alice) == [
        ("Impersonate-User", b"alice"),
        ("Impersonate-Group", b"ops"),
    ]
    with pytest.raises(ImpersonationError, match="unknown actions mode"):
        acting_client(base, "", someone)
    with pytest.raises(ImpersonationError, match="already impersonates"):
        impersonated(impersonated(base, "alice", []), "bob", [])


# --- the demo cluster decides ----------------------------------------------------------------


@pytest.fixture
def base(demo_kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    api = build_api_client(ClusterSpec("demo", str(demo_kubeconfig), "demo"))
    try:
        yield api
    finally:
        api.close()


def patch_as(api: k8s.ApiClient, namespace: str, name: str) -> dict:
    return k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
        *KS[:2], namespace, KS[2], name, REQUESTED_AT
    )


def status_of(call, *args) -> tuple[int, dict]:
    try:
        call(*args)
    except ApiException as exc:
        return exc.status, json.loads(exc.body)
    return 200, {}


def test_the_demo_operator_may_reconcile_in_bigbang_and_is_denied_in_flux_system(demo, base):
    operator = impersonated(base, DEMO_OPERATOR, [DEMO_OPERATORS_GROUP])
    patched = patch_as(operator, "bigbang", "environment")
    assert patched["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]

    status, body = status_of(patch_as, operator, "flux-system", "flux-system")
    assert status == 403
    assert body["reason"] == "Forbidden" and body["code"] == 403
    assert body["message"] == (
        'kustomizations.kustomize.toolkit.fluxcd.io "flux-system" is forbidden: User '
        '"demo-operator" cannot patch resource "kustomizations" in API group '
        '"kustomize.toolkit.fluxcd.io" in the namespace "flux-system"'
    )
    assert body["details"] == {
        "name": "flux-system",
        "group": "kustomize.toolkit.fluxcd.io",
        "kind": "kustomizations",
    }
    stored = demo.get("kustomize.toolkit.fluxcd.io", "kustomizations", "flux-system", "flux-system")
    assert "reconcile.fluxcd.io/requestedAt" not in (stored["metadata"].get("annotations") or {})
    # Reading is allowed to everyone signed in; Tidewatch's own identity is not restricted.
    assert k8s.CustomObjectsApi(operator).list_namespaced_custom_object(
        *KS[:2], "flux-system", KS[2]
    )["items"]
    assert patch_as(base, "flux-system", "flux-system")


def test_the_group_grant_works_through_any_of_several_group_lines(demo, base):
    # The grant is bound to the group only: it is the second Impersonate-Group line that allows it.
    member = impersonated(base, "carol", ["viewers", DEMO_OPERATORS_GROUP])
    assert patch_as(member, "bigbang", "environment")
    joined = impersonated(base, "carol", [f"viewers, {DEMO_OPERATORS_GROUP}"])
    assert status_of(patch_as, joined, "bigbang", "environment")[0] == 403
    nobody = impersonated(base, "mallory", [])
    status, body = status_of(patch_as, nobody, "bigbang", "environment")
    assert status == 403 and 'User "mallory" cannot patch' in body["message"]


def test_groups_without_a_user_are_a_bad_request_as_on_the_real_server(demo, base):
    response = base.call_api(
        *base.param_serialize(
            "GET",
            "/api/v1/namespaces",
            header_params={"Impersonate-Group": "x"},
            auth_settings=["BearerToken"],
        )[:3]
    )
    assert response.status == 400
    assert json.loads(response.read())["message"] == (
        'requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string{"x"}, '
        "Extra:map[string][]string(nil)} without impersonating a user name"
    )


# --- authentication is the base client's, connections are shared ----------------------------


def test_an_exec_plugin_credential_is_renewed_for_impersonated_requests(demo, tmp_path):
    runs = tmp_path / "runs"
    plugin = tmp_path / "get-token.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        # Already expired: the client's hook runs the plugin again before every request.
        "status": {"token": demo.token, "expirationTimestamp": "2020-01-01T00:00:00Z"},
    }
    plugin.write_text(
        f"import json\nwith open({str(runs)!r}, 'a') as f: f.write('x')\n"
        f"print(json.dumps({credential!r}))\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
        }
    }
    kubeconfig = tmp_path / "eks.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "eks", "cluster": {"server": demo.url}}],
                "users": [{"name": "eks-user", "user": user}],
                "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks-user"}}],
                "current-context": "eks",
            }
        )
    )
    base = build_api_client(ClusterSpec("eks", str(kubeconfig), "eks"))
    before = runs.read_text()
    operator = impersonated(base, DEMO_OPERATOR, [DEMO_OPERATORS_GROUP])
    assert patch_as(operator, "bigbang", "environment")
    assert len(runs.read_text()) == len(before) + 1, "the impersonated request renewed the token"


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def long_lived_threads() -> int:
    # Each request's deadline timer (clusters/request_deadline.py) is a short-lived thread.
    return sum(not isinstance(t, threading.Timer) for t in threading.enumerate())


def test_a_client_per_request_opens_no_sockets_or_threads_of_its_own(demo, base):
    get_json(base, "/api")  # the base client's one connection (and the server's thread for it)
    files, threads = open_files(), long_lived_threads()
    for index in range(200):
        operator = impersonated(base, f"user-{index}", [DEMO_OPERATORS_GROUP])
        get_json(operator, "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/bigbang/kustomizations")
        if index % 2:
            operator.close()  # closing one leaves the shared connections alone
    assert open_files() == files
    assert long_lived_threads() == threads
    pools = base.rest_client.pool_manager.pools
    (key,) = pools.keys()
    pool = pools[key]
    assert (pool.num_connections, pool.num_requests) == (1, 201), "all over the base's connection"
    assert get_json(base, "/api")["kind"] == "APIVersions"
