"""Fixtures: a demo cluster on a free port and real `kubernetes` clients from a kubeconfig.

Everything goes over HTTP through the real client; nothing is patched or mocked. Tests that write
use ``fresh_cluster`` so the session cluster keeps the scenario exactly as built.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient
from kubernetes.config import new_client_from_config

from clusters.demo.crds import reference_dir
from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.scenario import build_platform
from clusters.demo.server import DemoCluster

# A fixed clock keeps the scenario byte-for-byte reproducible between runs.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def platform() -> list[dict[str, Any]]:
    return build_platform(NOW)


@pytest.fixture(scope="session")
def demo_cluster(platform: list[dict[str, Any]]) -> Iterator[DemoCluster]:
    cluster = DemoCluster(objects=platform, bookmark_interval=0.5)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(demo_cluster: DemoCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert demo_cluster.url is not None
    path = tmp_path_factory.mktemp("demo") / "kubeconfig.yaml"
    return write_kubeconfig(path, demo_cluster.url, demo_cluster.token)


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[ApiClient]:
    client = new_client_from_config(config_file=str(kubeconfig), context="demo")
    yield client
    client.close()


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[Callable[..., ApiClient]]:
    """Build a client for any cluster, e.g. one with another token or kinds not installed."""
    made: list[ApiClient] = []

    def make(cluster: DemoCluster, token: str | None = None) -> ApiClient:
        assert cluster.url is not None
        path = tmp_path / f"kubeconfig-{len(made)}.yaml"
        write_kubeconfig(path, cluster.url, token if token is not None else cluster.token)
        client = new_client_from_config(config_file=str(path), context="demo")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def fresh_cluster(platform: list[dict[str, Any]]) -> Iterator[DemoCluster]:
    """A private cluster with the same scenario, for tests that write or inject faults."""
    cluster = DemoCluster(objects=platform, bookmark_interval=0.5)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def fresh_client(fresh_cluster: DemoCluster, client_for: Callable[..., ApiClient]) -> ApiClient:
    return client_for(fresh_cluster)


def raw(
    client: ApiClient,
    method: str,
    path: str,
    query: list[tuple[str, Any]] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request through the client's own transport and auth; no status handling."""
    request = client.param_serialize(
        method,
        path,
        query_params=query or [],
        header_params=dict(headers or {}),
        body=body,
        auth_settings=["BearerToken"],
    )
    response = client.call_api(*request)
    data = response.read()
    return response.status, dict(response.headers), data


def reference_body(name: str) -> Any:
    """The body of a captured API server answer, or skip when the reference is not checked out."""
    path = reference_dir() / "apiserver" / name
    if not path.exists():
        pytest.skip(f"reference file {path} not available")
    return json.loads(path.read_text())["body"]
