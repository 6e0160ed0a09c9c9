"""No kubeconfig credential ever lands in the database or in a log record.

Polls the demo cluster with a bearer-token kubeconfig, with an exec-plugin kubeconfig (as
`aws eks get-token`) and with a wrong token, capturing every log record at DEBUG, then looks for
the tokens in every column of every table and in every record.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.db import connection

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster
from clusters.models import Cluster, GitOpsObject
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters

pytestmark = pytest.mark.django_db(transaction=True)

LOGGERS = ["", "clusters", "dashboard", "kubernetes", "urllib3", "django"]


@pytest.fixture
def secret_token() -> str:
    return f"tw-cred-{secrets.token_hex(16)}"


@pytest.fixture
def cluster_with_secret(secret_token: str) -> Iterator[DemoCluster]:
    server = DemoCluster(token=secret_token)
    server.start(port=0)
    try:
        yield server
    finally:
        server.stop()


def exec_kubeconfig(path: Path, url: str, token: str, tmp_path: Path) -> Path:
    plugin = tmp_path / "get-token.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": token},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "eks", "cluster": {"server": url}}],
                "users": [{"name": "eks-user", "user": user}],
                "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks-user"}}],
                "current-context": "eks",
            }
        )
    )
    return path


def everything_in_the_database() -> Iterator[tuple[str, str]]:
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if value is not None:
                        yield table, value if isinstance(value, str) else repr(value)


def everything_logged(records: list[logging.LogRecord]) -> Iterator[str]:
    for record in records:
        yield record.getMessage()
        yield repr(record.args)
        yield repr(vars(record))


def test_tokens_reach_neither_the_database_nor_the_logs(
    cluster_with_secret, secret_token, tmp_path, settings, caplog
):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    wrong_token = f"tw-wrong-{secrets.token_hex(16)}"
    token_config = write_kubeconfig(tmp_path / "token.yaml", cluster_with_secret.url, secret_token)
    exec_config = exec_kubeconfig(
        tmp_path / "exec.yaml", cluster_with_secret.url, secret_token, tmp_path
    )
    wrong_config = write_kubeconfig(tmp_path / "wrong.yaml", cluster_with_secret.url, wrong_token)
    clusters_file = tmp_path / "clusters.yaml"
    clusters_file.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {"name": "with-token", "kubeconfig": str(token_config), "context": "demo"},
                    {"name": "with-exec", "kubeconfig": str(exec_config)},
                    {"name": "wrong-token", "kubeconfig": str(wrong_config), "context": "demo"},
                ]
            }
        )
    )
    settings.TIDEWATCH_CLUSTERS = str(clusters_file)

    for cluster in sync_clusters():
        poll_cluster(cluster)

    # The polls did happen: two succeeded, the wrong token was refused.
    assert GitOpsObject.objects.filter(cluster__name="with-token").count() > 30
    assert GitOpsObject.objects.filter(cluster__name="with-exec").count() > 30
    assert Cluster.objects.get(name="wrong-token").last_error_reason == "Unauthorized"
    assert len(caplog.records) > 5

    for secret in (secret_token, wrong_token):
        leaks = [table for table, value in everything_in_the_database() if secret in value]
        assert leaks == [], f"token stored in {sorted(set(leaks))}"
        assert not any(secret in text for text in everything_logged(caplog.records))
    # What is stored is where the credentials are, never what they are.
    assert Cluster.objects.get(name="with-token").kubeconfig == str(token_config)
