from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from clusters.models import Cluster, GitOpsObject
from tests.conftest import TOKEN

pytestmark = pytest.mark.django_db


def write_clusters(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"clusters": entries}))
    return path


def test_poll_command_stores_the_good_cluster_and_reports_the_bad_ones(
    demo_kubeconfig, tmp_path, settings
):
    settings.TIDEWATCH_CLUSTERS = str(
        write_clusters(
            tmp_path / "clusters.yaml",
            [
                {"name": "demo", "kubeconfig": str(demo_kubeconfig), "context": "demo"},
                {"name": "no-file", "kubeconfig": str(tmp_path / "missing.yaml")},
                {"name": "no-context", "kubeconfig": str(demo_kubeconfig), "context": "prod"},
                {"name": "typo", "kubeconfg": "x"},
            ],
        )
    )
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="could not be polled"):
        call_command("poll", stdout=out, stderr=err)

    assert GitOpsObject.objects.filter(cluster__name="demo").count() > 30
    assert "demo:" in out.getvalue() and "objects listed" in out.getvalue()
    errors = err.getvalue()
    assert "no-file: FAILED KubeconfigMissing" in errors
    assert "no-context: FAILED ConfigInvalid" in errors and "prod" in errors
    assert "typo: FAILED ConfigInvalid: unknown keys kubeconfg" in errors
    assert Cluster.objects.get(name="no-file").last_error_reason == "KubeconfigMissing"


def test_poll_command_can_poll_one_cluster(clusters_file):
    out = StringIO()
    call_command("poll", "--cluster", "demo", stdout=out)
    assert "demo:" in out.getvalue()
    with pytest.raises(CommandError, match="no enabled cluster named 'nope'"):
        call_command("poll", "--cluster", "nope")


def test_exec_plugin_credentials_work_like_eks(demo, tmp_path, settings):
    """kubeconfig `exec` (as `aws eks get-token` uses) produces the bearer token per poll."""
    plugin = tmp_path / "get-token.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": TOKEN},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    kubeconfig = tmp_path / "exec-kubeconfig.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "eks", "cluster": {"server": demo.url}}],
                "users": [
                    {
                        "name": "eks-user",
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": sys.executable,
                                "args": [str(plugin)],
                                "interactiveMode": "Never",
                            }
                        },
                    }
                ],
                "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks-user"}}],
                "current-context": "eks",
            }
        )
    )
    settings.TIDEWATCH_CLUSTERS = str(
        write_clusters(tmp_path / "c.yaml", [{"name": "eks", "kubeconfig": str(kubeconfig)}])
    )
    out = StringIO()

    call_command("poll", stdout=out)

    assert GitOpsObject.objects.filter(cluster__name="eks", kind="HelmRelease").exists()


def test_a_wrong_token_is_reported_as_unauthorized(demo, tmp_path, settings):
    from clusters.demo.kubeconfig import write_kubeconfig

    kubeconfig = write_kubeconfig(tmp_path / "bad.yaml", demo.url, "wrong-token")
    settings.TIDEWATCH_CLUSTERS = str(
        write_clusters(tmp_path / "c.yaml", [{"name": "bad", "kubeconfig": str(kubeconfig)}])
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("poll", stderr=err)
    assert "bad: FAILED Unauthorized" in err.getvalue()
