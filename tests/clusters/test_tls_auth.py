"""TLS and client certificates, end to end: the demo cluster serves HTTPS with a throwaway PKI
and the poller reaches it through the real kubernetes client, as it would a real API server.

Nothing is patched: the kubeconfig carries the CA (and client certificate) as *-data fields, the
client writes them to files and urllib3 does the verification.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster, TlsConfig
from clusters.demo.tls import Pki, make_test_pki
from clusters.kube import ClusterSpec, build_api_client, get_json
from clusters.models import Cluster, GitOpsObject, PollRun
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters
from tests.conftest import TOKEN

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def https_demo(pki: Pki) -> Iterator[DemoCluster]:
    """The demo cluster over HTTPS, accepting the bearer token or a client certificate."""
    server = DemoCluster(token=TOKEN)
    server.start(
        port=0, tls=TlsConfig(cert=pki.server_cert, key=pki.server_key, client_ca=pki.ca_cert)
    )
    try:
        yield server
    finally:
        server.stop()


def register(tmp_path: Path, settings, **kubeconfigs: Path) -> list[Cluster]:
    """Write a clusters.yaml with one entry per kubeconfig and sync it, as an operator would."""
    path = tmp_path / "clusters.yaml"
    entries = [{"name": name, "kubeconfig": str(kc)} for name, kc in kubeconfigs.items()]
    path.write_text(yaml.safe_dump({"clusters": entries}))
    settings.TIDEWATCH_CLUSTERS = str(path)
    return sync_clusters()


def test_https_with_the_cluster_ca_and_a_bearer_token(https_demo, pki, tmp_path, settings):
    assert https_demo.url is not None and https_demo.url.startswith("https://127.0.0.1:")
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig.yaml", https_demo.url, TOKEN, ca_cert=pki.ca_cert
    )
    (cluster,) = register(tmp_path, settings, prod=kubeconfig)

    run = poll_cluster(cluster)

    assert run.ok, (run.error, run.errors)
    assert GitOpsObject.objects.filter(cluster=cluster, kind="HelmRelease").exists()
    assert GitOpsObject.objects.filter(cluster=cluster, kind="Application").exists()
    cluster.refresh_from_db()
    assert cluster.server == https_demo.url
    assert cluster.last_error_reason == ""


def test_a_client_certificate_authenticates_without_a_token(https_demo, pki, tmp_path, settings):
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig.yaml",
        https_demo.url,
        None,
        ca_cert=pki.ca_cert,
        client_cert=pki.client_cert,
        client_key=pki.client_key,
    )
    (user,) = yaml.safe_load(kubeconfig.read_text())["users"]
    assert set(user["user"]) == {"client-certificate-data", "client-key-data"}
    (cluster,) = register(tmp_path, settings, prod=kubeconfig)

    run = poll_cluster(cluster)

    assert run.ok, (run.error, run.errors)
    assert GitOpsObject.objects.filter(cluster=cluster, kind="HelmRelease").exists()


def test_a_kubeconfig_trusting_the_wrong_ca_is_a_tls_error(https_demo, pki, tmp_path, settings):
    """The bad cluster fails with a reason and a readable message; the good one still polls."""
    wrong = write_kubeconfig(
        tmp_path / "wrong-ca.yaml", https_demo.url, TOKEN, ca_cert=pki.other_ca_cert
    )
    good = write_kubeconfig(tmp_path / "good.yaml", https_demo.url, TOKEN, ca_cert=pki.ca_cert)
    register(tmp_path, settings, wrongca=wrong, good=good)
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="could not be polled"):
        call_command("poll", stdout=out, stderr=err)

    assert "wrongca: FAILED TLSError" in err.getvalue()
    bad = Cluster.objects.get(name="wrongca")
    assert bad.last_error_reason == "TLSError"
    assert https_demo.url in bad.last_error
    assert "certificate verify failed" in bad.last_error
    run = PollRun.objects.filter(cluster=bad).latest("started_at")
    assert not run.ok and run.error.startswith("TLSError: ")
    assert not GitOpsObject.objects.filter(cluster=bad).exists()
    assert GitOpsObject.objects.filter(cluster__name="good", kind="HelmRelease").exists()


def test_https_without_credentials_is_unauthorized(https_demo, pki, tmp_path, settings):
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig.yaml", https_demo.url, None, ca_cert=pki.ca_cert
    )
    (cluster,) = register(tmp_path, settings, anonymous=kubeconfig)

    run = poll_cluster(cluster)

    assert not run.ok
    cluster.refresh_from_db()
    assert cluster.last_error_reason == "Unauthorized"
    assert "401" in cluster.last_error


def test_the_demo_command_serves_https_with_tls(tmp_path):
    """`python -m clusters.demo --tls` writes a kubeconfig that trusts the CA it generated."""
    kubeconfig = tmp_path / "var" / "demo-kubeconfig.yaml"
    command = [sys.executable, "-m", "clusters.demo", "--tls", "--port", "0"]
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as errors:
        process = subprocess.Popen(
            [*command, "--kubeconfig", str(kubeconfig)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # EOF, not a hang, if the command dies
        assert banner.startswith("demo cluster serving https://127.0.0.1:"), stderr.read_text()
        config = yaml.safe_load(kubeconfig.read_text())
        assert "certificate-authority-data" in config["clusters"][0]["cluster"]
        assert (kubeconfig.parent / "demo-pki" / "ca.crt").is_file()
        api = build_api_client(ClusterSpec("demo", str(kubeconfig)))
        try:
            assert get_json(api, "/version")["major"] == "1"
        finally:
            api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
