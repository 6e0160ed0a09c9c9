from __future__ import annotations

from pathlib import Path

import pytest

from clusters.config import ConfigFileError, load_entries
from clusters.models import Cluster
from clusters.registry import sync_clusters


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    return path


def test_entries_resolve_relative_kubeconfig_and_defaults(tmp_path):
    path = write(
        tmp_path,
        "clusters:\n"
        "  - name: prod\n    kubeconfig: kube/prod.yaml\n    context: prod-ctx\n"
        "  - name: self\n    in_cluster: true\n    poll_interval: 60\n",
    )
    prod, self_ = load_entries(path, default_interval=30)
    assert prod.spec.kubeconfig == str(tmp_path / "kube/prod.yaml")
    assert (prod.spec.context, prod.poll_interval, prod.error) == ("prod-ctx", 30, "")
    assert self_.spec.in_cluster and self_.spec.kubeconfig == "" and self_.poll_interval == 60


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- name: Bad_Name", "must be lower-case"),
        ("- name: a\n    poll_interval: 1", "poll_interval must be a whole number"),
        ("- name: a\n    poll_interval: soon", "poll_interval must be a whole number"),
        ("- name: a\n    in_cluster: perhaps", "in_cluster must be true or false"),
        ("- name: a\n    kubeconfg: /x", "unknown keys kubeconfg"),
        ("- just a string", "is not a mapping"),
    ],
)
def test_a_bad_entry_is_reported_on_that_entry_only(tmp_path, entry, message):
    path = write(tmp_path, f"clusters:\n  {entry}\n  - name: good\n")
    bad, good = load_entries(path, 30)
    assert message in bad.error
    assert good.error == "" and good.spec.name == "good"


def test_duplicate_names_are_an_error(tmp_path):
    path = write(tmp_path, "clusters:\n  - name: a\n  - name: a\n")
    first, second = load_entries(path, 30)
    assert first.error == "" and "duplicate cluster name" in second.error


@pytest.mark.parametrize(
    ("text", "message"),
    [("clusters: [unclosed", "cannot be read"), ("- a\n- b\n", "must be a mapping")],
)
def test_an_unusable_file_fails_as_a_whole(tmp_path, text, message):
    with pytest.raises(ConfigFileError, match=message):
        load_entries(write(tmp_path, text), 30)


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigFileError, match="TIDEWATCH_CLUSTERS"):
        load_entries(tmp_path / "nope.yaml", 30)


@pytest.mark.django_db
def test_sync_creates_updates_and_disables_removed_clusters(tmp_path):
    path = write(tmp_path, "clusters:\n  - name: a\n  - name: b\n    poll_interval: 45\n")
    sync_clusters(str(path))
    assert set(Cluster.objects.values_list("name", "enabled")) == {("a", True), ("b", True)}
    write(tmp_path, "clusters:\n  - name: b\n    poll_interval: 60\n")
    sync_clusters(str(path))
    a, b = Cluster.objects.order_by("name")
    assert not a.enabled and "removed from" in a.config_error
    assert b.enabled and b.poll_interval == 60
