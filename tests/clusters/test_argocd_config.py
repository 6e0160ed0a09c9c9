"""The clusters.yaml ``argocd:`` block: parsed, validated with clear errors, never a token."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusters.config import load_entries
from clusters.models import Cluster
from clusters.registry import sync_clusters


def write(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(f"clusters:\n  - name: a\n    argocd:\n{block}  - name: good\n")
    return path


def test_a_block_is_parsed_with_paths_relative_to_the_file(tmp_path):
    path = write(
        tmp_path,
        "      url: https://argocd.example.mil/\n      tokenFile: secrets/argocd-token\n"
        "      caFile: ca.pem\n      timeoutSeconds: 4\n",
    )
    entry, good = load_entries(path, 30)
    assert entry.error == "" and good.argocd is None
    assert entry.argocd.as_dict() == {
        "url": "https://argocd.example.mil",
        "tokenFile": str(tmp_path / "secrets/argocd-token"),
        "caFile": str(tmp_path / "ca.pem"),
        "timeoutSeconds": 4.0,
    }


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("      - url\n", "argocd must be a mapping"),
        ("      tokenFile: t\n", "argocd.url is required"),
        ("      url: argocd.example.mil\n      tokenFile: t\n", "must be an http:// or https://"),
        ("      url: ftp://x\n      tokenFile: t\n", "must be an http:// or https://"),
        ("      url: https://u:p@x\n      tokenFile: t\n", "no query, fragment or credentials"),
        ("      url: https://x\n", "exactly one of tokenFile"),
        ("      url: https://x\n      tokenFile: t\n      tokenEnv: T\n", "exactly one of"),
        ("      url: https://x\n      tokenEnv: 'not a name'\n", "environment variable name"),
        ("      url: https://x\n      token: abc\n", "unknown keys token"),
        ("      url: https://x\n      tokenFile: t\n      timeoutSeconds: 0\n", "timeoutSeconds"),
        (
            "      url: https://x\n      tokenFile: t\n      timeoutSeconds: soon\n",
            "timeoutSeconds",
        ),
        (
            "      url: https://x\n      tokenFile: t\n      timeoutSeconds: true\n",
            "timeoutSeconds",
        ),
        ("      url: https://x\n      tokenFile: 3\n", "argocd.tokenFile must be a non-empty"),
    ],
)
def test_a_bad_block_breaks_that_entry_only_and_says_why(tmp_path, block, message):
    bad, good = load_entries(write(tmp_path, block), 30)
    assert message in bad.error
    assert good.error == "" and good.spec.name == "good"


@pytest.mark.django_db
def test_the_cluster_row_keeps_where_the_token_is_never_the_token(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("ARGOCD_TOKEN", "s3cret-token")
    path = write(tmp_path, "      url: https://argocd.example.mil\n      tokenEnv: ARGOCD_TOKEN\n")
    settings.TIDEWATCH_CLUSTERS = str(path)
    sync_clusters()
    row = Cluster.objects.filter(name="a").values().get()
    assert row["argocd"] == {"url": "https://argocd.example.mil", "tokenEnv": "ARGOCD_TOKEN"}
    assert "s3cret-token" not in str(row)
    assert Cluster.objects.get(name="good").argocd == {}


@pytest.mark.django_db
def test_a_bad_block_is_shown_as_the_cluster_config_error(tmp_path, settings):
    path = write(tmp_path, "      url: https://x\n")
    settings.TIDEWATCH_CLUSTERS = str(path)
    sync_clusters()
    assert "exactly one of tokenFile" in Cluster.objects.get(name="a").config_error
    assert Cluster.objects.get(name="good").config_error == ""
