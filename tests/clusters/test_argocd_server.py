"""The argocd-server step against the demo's argocd-server over HTTP (clusters/demo/argocd.py):
what is stored per Application, the drift diff, Secrets dropped, failures recorded as a reason
with the last good data kept, the bounds, and no request at all without an ``argocd:`` block."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import yaml

from clusters.argocd_server.refresh import refresh_argo_details
from clusters.demo.argocd import PREFIX
from clusters.demo.server import DemoCluster
from clusters.models import ArgoAppDetail, Cluster, GitOpsObject
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters
from clusters.store import version

pytestmark = pytest.mark.django_db

ARGOCD_TOKEN = "demo-argocd-token"  # DemoCluster's default
DEMO_APPS = {
    "platform-apps",
    "portfolio",
    "data-platform",
    "ai-services",
    "sandbox-experiments",
    "demo-apps-dev",
    "demo-apps-staging",
}


def configure(
    clusters_file: Path, tmp_path: Path, url: str, token: str = ARGOCD_TOKEN, **extra: object
) -> Cluster:
    """Give the demo's clusters.yaml entry an argocd: block (token in a file) and sync it."""
    token_file = tmp_path / "argocd-token"
    token_file.write_text(token + "\n")
    document = yaml.safe_load(clusters_file.read_text())
    document["clusters"][0]["argocd"] = {"url": url, "tokenFile": "argocd-token", **extra}
    clusters_file.write_text(yaml.safe_dump(document))
    (cluster,) = sync_clusters()
    return cluster


@pytest.fixture
def argo_cluster(demo: DemoCluster, clusters_file: Path, tmp_path: Path) -> Cluster:
    cluster = configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}")
    poll_cluster(cluster)
    return cluster


def detail(name: str) -> ArgoAppDetail:
    return ArgoAppDetail.objects.get(obj__kind="Application", obj__name=name)


def resource(d: ArgoAppDetail, kind: str, name: str) -> dict:
    return next(r for r in d.resources if r["kind"] == kind and r["name"] == name)


def test_the_token_stays_in_its_file(argo_cluster: Cluster, tmp_path: Path) -> None:
    stored = Cluster.objects.get(pk=argo_cluster.pk).argocd
    assert stored == {"url": stored["url"], "tokenFile": str(tmp_path / "argocd-token")}
    assert ARGOCD_TOKEN not in str(Cluster.objects.filter(pk=argo_cluster.pk).values().first())


def test_every_demo_application_gets_its_detail(argo_cluster: Cluster, demo: DemoCluster) -> None:
    outcome = refresh_argo_details(argo_cluster)
    assert (outcome.read, outcome.failed, outcome.left) == (len(DEMO_APPS), 0, 0)
    assert outcome.requests == 2 * len(DEMO_APPS)
    assert all("appNamespace=argocd" in path for path in demo.argocd_requests)
    stored = {d.obj.name: d for d in ArgoAppDetail.objects.select_related("obj")}
    assert set(stored) == DEMO_APPS
    for d in stored.values():
        assert d.error == "" and d.fetched_at == d.attempted_at is not None
        assert d.app_resource_version == d.obj.resource_version
    portfolio = stored["portfolio"]
    api = resource(portfolio, "Deployment", "portfolio-api")
    assert api["health"] == {"status": "Healthy", "message": ""}
    assert api["sync"] == "Synced" and api["diff"] is None and api["version"] == "v1"
    assert resource(portfolio, "ConfigMap", "portfolio-config")["health"] is None  # no check


def test_the_live_tree_has_replicasets_and_pods_with_health(argo_cluster: Cluster) -> None:
    refresh_argo_details(argo_cluster)
    ai = detail("ai-services")
    gateway = resource(ai, "Deployment", "inference-gateway")
    assert gateway["health"]["status"] == "Progressing"
    assert "Waiting for rollout to finish" in gateway["health"]["message"]
    by_uid = {node["uid"]: node for node in ai.tree}
    root = by_uid[gateway["uid"]]
    assert root["parents"] == [] and root["kind"] == "Deployment"
    (replica_set,) = [n for n in ai.tree if gateway["uid"] in n["parents"]]
    assert replica_set["kind"] == "ReplicaSet" and replica_set["info"][0]["name"] == "Revision"
    pods = [n for n in ai.tree if replica_set["uid"] in n["parents"]]
    assert [p["kind"] for p in pods] == ["Pod", "Pod"]
    assert {p["health"]["status"] for p in pods} == {"Healthy", "Degraded"}
    crashing = next(p for p in pods if p["health"]["status"] == "Degraded")
    assert "back-off" in crashing["health"]["message"]
    assert {"name": "Status Reason", "value": "CrashLoopBackOff"} in crashing["info"]
    assert crashing["images"] == ["registry.example.mil/ai/inference-gateway:2.3.0"]


def test_the_data_platform_drift_is_a_field_diff(argo_cluster: Cluster) -> None:
    refresh_argo_details(argo_cluster)
    dp = detail("data-platform")
    worker = resource(dp, "Deployment", "ingest-worker")
    assert worker["sync"] == "OutOfSync" and worker["diffTruncated"] is False
    changes = {c["path"]: c for c in worker["diff"]}
    assert changes["spec.replicas"] == {
        "path": "spec.replicas",
        "change": "changed",
        "live": "4",
        "target": "3",
    }
    image = changes["spec.template.spec.containers[0].image"]
    assert (image["live"], image["target"]) == (
        "registry.example.mil/data/ingest-worker:0.31.2",
        "registry.example.mil/data/ingest-worker:0.32.0",
    )
    # Only what Argo CD compares: no status, no API-server bookkeeping.
    assert not [p for p in changes if p.startswith(("status", "metadata.managedFields"))]
    config = {c["path"]: c for c in resource(dp, "ConfigMap", "pipeline-config")["diff"]}
    assert config["data.COMPACTION"]["change"] == "added"
    assert config["data.COMPACTION"]["live"] is None
    assert resource(dp, "Service", "airflow-webserver")["diff"] is None  # in sync


def test_secrets_are_never_stored(argo_cluster: Cluster, demo: DemoCluster) -> None:
    app = demo.get("argoproj.io", "applications", "argocd", "data-platform")
    assert "Secret" in {r["kind"] for r in app["status"]["resources"]}  # the demo has one
    refresh_argo_details(argo_cluster)
    dp = detail("data-platform")
    assert dp.secrets_dropped == 1
    assert "Secret" not in {r["kind"] for r in dp.resources} | {n["kind"] for n in dp.tree}
    stored = str(ArgoAppDetail.objects.values("resources", "tree", "error").get(pk=dp.pk))
    assert "pipeline-credentials" not in stored and "++++++++" not in stored


def test_a_rejected_token_is_the_reason_and_costs_one_request(
    demo: DemoCluster, clusters_file: Path, tmp_path: Path
) -> None:
    cluster = configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}", token="not-the-token")
    poll_cluster(cluster)
    outcome = refresh_argo_details(cluster)
    assert outcome.reason == "TokenRejected" and outcome.requests == 1
    assert outcome.failed == len(DEMO_APPS) and outcome.read == 0
    d = detail("data-platform")
    assert d.error.startswith("TokenRejected: argocd-server rejected the token with 401")
    assert "invalid session" in d.error
    assert d.fetched_at is None and d.resources == [] and d.attempted_at is not None


def _fail_later(demo: DemoCluster, cluster: Cluster, fault: dict, reason: str) -> None:
    refresh_argo_details(cluster)
    good = detail("data-platform")
    kept = (good.resources, good.tree, good.fetched_at)
    GitOpsObject.objects.filter(kind="Application").update(resource_version="changed")
    demo.set_fault(f"{PREFIX}/api/v1/applications/", **fault)
    outcome = refresh_argo_details(cluster)
    assert outcome.read == 0 and outcome.failed == len(DEMO_APPS)
    after = detail("data-platform")
    assert after.error.startswith(f"{reason}: ")
    assert (after.resources, after.tree, after.fetched_at) == kept  # the last good read stays
    assert after.app_resource_version != "changed"  # still due: asked again next run
    demo.clear_faults()
    assert refresh_argo_details(cluster).read == len(DEMO_APPS)
    assert detail("data-platform").error == ""


def test_a_server_error_is_the_reason_and_the_last_good_read_stays(
    argo_cluster: Cluster, demo: DemoCluster
) -> None:
    _fail_later(demo, argo_cluster, {"status": 503}, "ServerError")


def test_a_timeout_is_the_reason_and_the_last_good_read_stays(
    demo: DemoCluster, clusters_file: Path, tmp_path: Path
) -> None:
    cluster = configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}", timeoutSeconds=0.5)
    poll_cluster(cluster)
    hold = threading.Event()  # the request waits until the test ends: never answered in time
    try:
        _fail_later(demo, cluster, {"hold": hold}, "Timeout")
    finally:
        hold.set()


def test_an_unreachable_server_is_recorded_without_a_request_per_application(
    argo_cluster: Cluster, clusters_file: Path, tmp_path: Path
) -> None:
    refresh_argo_details(argo_cluster)
    kept = detail("portfolio").resources
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # bound, never listening: connection refused
        cluster = configure(clusters_file, tmp_path, f"http://127.0.0.1:{closed_port}")
        GitOpsObject.objects.filter(kind="Application").update(resource_version="changed")
        outcome = refresh_argo_details(cluster)
    assert outcome.reason == "Unreachable" and outcome.requests == 1
    portfolio = detail("portfolio")
    assert "unreachable" in portfolio.error and portfolio.resources == kept


def test_only_changed_applications_are_read_again(argo_cluster: Cluster, demo: DemoCluster) -> None:
    refresh_argo_details(argo_cluster)
    demo.argocd_requests.clear()
    assert refresh_argo_details(argo_cluster).requests == 0  # nothing changed
    demo.patch(
        "argoproj.io", "applications", "argocd", "portfolio", {"metadata": {"labels": {"x": "y"}}}
    )
    poll_cluster(argo_cluster)
    outcome = refresh_argo_details(argo_cluster)
    assert (outcome.due, outcome.read) == (1, 1)
    assert {path.split("?")[0].split("/")[-2] for path in demo.argocd_requests} == {"portfolio"}


def test_the_per_run_cap_leaves_the_rest_for_the_next_run(argo_cluster: Cluster, settings) -> None:
    settings.TIDEWATCH_ARGOCD_MAX_APPS_PER_RUN = 3
    first = refresh_argo_details(argo_cluster)
    assert (first.read, first.left, first.requests) == (3, len(DEMO_APPS) - 3, 6)
    second = refresh_argo_details(argo_cluster)
    assert (second.read, second.left) == (3, len(DEMO_APPS) - 6)
    refresh_argo_details(argo_cluster)
    assert ArgoAppDetail.objects.filter(error="").count() == len(DEMO_APPS)


def test_no_argocd_block_no_request_and_no_rows(
    demo: DemoCluster, demo_cluster: Cluster, clusters_file: Path, tmp_path: Path
) -> None:
    poll_cluster(demo_cluster)
    outcome = refresh_argo_details(demo_cluster)
    assert not outcome.configured and outcome.requests == 0
    assert demo.argocd_requests == [] and not ArgoAppDetail.objects.exists()
    # A block removed later takes its details with it: nothing is shown from an old server.
    configured = configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}")
    refresh_argo_details(configured)
    assert ArgoAppDetail.objects.count() == len(DEMO_APPS)
    document = yaml.safe_load(clusters_file.read_text())
    del document["clusters"][0]["argocd"]
    clusters_file.write_text(yaml.safe_dump(document))
    (cluster,) = sync_clusters()
    assert refresh_argo_details(cluster).deleted == len(DEMO_APPS)
    assert not ArgoAppDetail.objects.exists()


def test_a_deleted_application_takes_its_detail(argo_cluster: Cluster, demo: DemoCluster) -> None:
    refresh_argo_details(argo_cluster)
    demo.delete("argoproj.io", "applications", "argocd", "sandbox-experiments")
    poll_cluster(argo_cluster)
    assert not ArgoAppDetail.objects.filter(obj__name="sandbox-experiments").exists()
    assert ArgoAppDetail.objects.count() == len(DEMO_APPS) - 1


@pytest.mark.parametrize(
    ("ca", "reason"), [("ca_cert", ""), ("other_ca_cert", "TLSError"), (None, "TLSError")]
)
def test_https_is_verified_against_the_ca_file(tmp_path: Path, settings, ca, reason) -> None:
    from clusters.demo.kubeconfig import write_kubeconfig
    from clusters.demo.server import TlsConfig
    from clusters.demo.tls import make_test_pki
    from tests.conftest import TOKEN

    pki = make_test_pki(tmp_path / "pki")
    server = DemoCluster(token=TOKEN)
    server.start(tls=TlsConfig(cert=pki.server_cert, key=pki.server_key, client_ca=pki.ca_cert))
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc.yaml", server.url, TOKEN, ca_cert=pki.ca_cert)
        path = tmp_path / "clusters.yaml"
        path.write_text(
            yaml.safe_dump({"clusters": [{"name": "demo", "kubeconfig": str(kubeconfig)}]})
        )
        settings.TIDEWATCH_CLUSTERS = str(path)
        extra = {"caFile": str(getattr(pki, ca))} if ca else {}
        cluster = configure(path, tmp_path, f"{server.url}{PREFIX}", **extra)
        poll_cluster(cluster)
        outcome = refresh_argo_details(cluster)
    finally:
        server.stop()
    assert outcome.reason == reason
    if reason:
        assert "certificate is not trusted" in detail("portfolio").error
    else:
        assert outcome.read == len(DEMO_APPS)


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"[" * 200_000 + b"]" * 200_000, 200),  # nested past the parser's recursion limit
        (b'{"message": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", 503),  # an error body alike
        (b"\xff\xfe not utf-8", 200),
    ],
)
def test_a_hostile_answer_is_a_reason_on_the_app_and_the_run_goes_on(
    argo_cluster: Cluster, demo: DemoCluster, raw: bytes, status: int
) -> None:
    demo.set_fault(f"{PREFIX}/api/v1/applications/data-platform/", status=status, raw_body=raw)
    outcome = refresh_argo_details(argo_cluster)
    assert outcome.failed == 1 and outcome.read == len(DEMO_APPS) - 1
    error = detail("data-platform").error
    assert error.startswith(("BadResponse: ", "ServerError: ")), error
    assert detail("portfolio").error == "" and detail("portfolio").fetched_at is not None


def test_a_run_moves_the_store_version_once_and_not_when_nothing_shown_changed(
    argo_cluster: Cluster, demo: DemoCluster
) -> None:
    # Every move costs each open page a fingerprint: seven details read are one move.
    before = version.current()
    assert refresh_argo_details(argo_cluster).read == len(DEMO_APPS)
    assert version.current() == before + 1
    # Read again for a new resourceVersion, argocd-server says the same: the page is unchanged.
    GitOpsObject.objects.filter(kind="Application").update(resource_version="changed")
    outcome = refresh_argo_details(argo_cluster)
    assert (outcome.read, outcome.shown) == (len(DEMO_APPS), 0)
    assert version.current() == before + 1
    # A failure is shown (the reason on the page): one move for all of them.
    GitOpsObject.objects.filter(kind="Application").update(resource_version="again")
    demo.set_fault(f"{PREFIX}/api/v1/applications/", status=503)
    assert refresh_argo_details(argo_cluster).failed == len(DEMO_APPS)
    assert version.current() == before + 2
