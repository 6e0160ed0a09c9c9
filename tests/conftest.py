"""Shared fixtures: a demo cluster served over HTTP, and a Cluster row pointing at it.

Every test that needs a cluster talks to a real HTTP server through the real kubernetes
client; nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster

TOKEN = "test-token"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: rolled-back databases repeat ids and store
    versions, so a part cached by an earlier test could match a later one's token."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def demo() -> Iterator[DemoCluster]:
    """A fresh demo cluster per test: tests mutate it and inject faults."""
    server = DemoCluster(token=TOKEN)
    server.start(port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def demo_kubeconfig(demo: DemoCluster, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig.yaml", demo.url, TOKEN)


@pytest.fixture
def clusters_file(demo_kubeconfig: Path, tmp_path: Path, settings) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(
        yaml.safe_dump(
            {"clusters": [{"name": "demo", "kubeconfig": str(demo_kubeconfig), "context": "demo"}]}
        )
    )
    settings.TIDEWATCH_CLUSTERS = str(path)
    return path


@pytest.fixture
def demo_cluster(clusters_file: Path, db):
    """The Cluster row for the demo cluster, synced from a clusters.yaml like a real one."""
    from clusters.registry import sync_clusters

    (cluster,) = sync_clusters()
    return cluster
