"""clusters.registry.sync_clusters moves the store version only when a Cluster row changed:
the poller and watcher call it every few seconds, and each move wakes every open page."""

from __future__ import annotations

import pytest

from clusters.registry import sync_clusters
from clusters.store import version

ONE = "clusters:\n  - name: a\n    poll_interval: 45\n"


def write(tmp_path, text):
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.django_db
def test_the_same_file_twice_does_not_move_the_version(tmp_path):
    path = write(tmp_path, ONE + "  - name: b\n    kubeconfig: /nowhere/kubeconfig\n")
    sync_clusters(path)
    before = version.current()
    sync_clusters(path)
    sync_clusters(path)
    assert version.current() == before


@pytest.mark.parametrize(
    "changed",
    [
        "clusters:\n  - name: a\n    poll_interval: 60\n",  # a field of a row
        ONE + "  - name: c\n",  # a new cluster
        "clusters:\n  - name: b\n",  # a removed cluster (disabled) and a new one
        "clusters:\n  - name: a\n    poll_interval: -1\n",  # a broken entry (config_error)
    ],
)
@pytest.mark.django_db
def test_a_changed_file_moves_the_version(tmp_path, changed):
    path = write(tmp_path, ONE)
    sync_clusters(path)
    sync_clusters(path)
    before = version.current()
    write(tmp_path, changed)
    sync_clusters(path)
    assert version.current() > before


@pytest.mark.django_db
def test_a_removed_cluster_moves_the_version_once(tmp_path):
    path = write(tmp_path, ONE + "  - name: b\n")
    sync_clusters(path)
    write(tmp_path, ONE)
    sync_clusters(path)
    after_removal = version.current()
    sync_clusters(path)  # b stays disabled: nothing to announce
    assert version.current() == after_removal


@pytest.mark.django_db
def test_a_changed_boundaries_file_moves_the_version(tmp_path):
    boundaries = tmp_path / "boundaries.yaml"
    boundaries.write_text("flux: [platform-*]\n")
    path = write(tmp_path, f"clusters:\n  - name: a\n    ownership: {boundaries}\n")
    sync_clusters(path)
    before = version.current()
    sync_clusters(path)
    assert version.current() == before
    boundaries.write_text("flux: [platform-*, infra-*]\n")
    sync_clusters(path)
    assert version.current() > before
