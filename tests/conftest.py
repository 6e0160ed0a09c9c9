"""Shared fixtures: a demo cluster served over HTTP, and a Cluster row pointing at it.

Every test that needs a cluster talks to a real HTTP server through the real kubernetes
client; nothing is patched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster

# Fixtures through which a test reaches the database (pytest-django's, and every fixture built
# on them: pytest lists the whole closure in item.fixturenames).
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences"})


def touches_database(item: pytest.Item) -> bool:
    """Whether a test can reach the database: pytest-django refuses any other's queries, and a
    subprocess is pointed at the test database only through a database fixture
    (tests/services.py), so a test outside this runs the same on every backend."""
    fixtures = getattr(item, "fixturenames", ())
    return item.get_closest_marker("django_db") is not None or bool(
        _DATABASE_FIXTURES.intersection(fixtures)
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # make test's PostgreSQL pass (scripts/run-tests.sh): the tests that cannot reach the
    # database ran in the SQLite pass already and would run the same again.
    if os.environ.get("TIDEWATCH_DATABASE_TESTS_ONLY") != "1":
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if touches_database(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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
