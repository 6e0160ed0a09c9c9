"""One bad clusters.yaml entry breaks that entry only (issue 10).

PostgreSQL refuses a value longer than its column (DataError); SQLite keeps it. Either way the
entry must be marked broken with a sentence that says what is wrong, and the others polled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import connection

from clusters.models import Cluster, GitOpsObject
from clusters.registry import sync_clusters

pytestmark = pytest.mark.django_db


def _write(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"clusters": entries}))
    return path


BAD_ENTRIES = [
    # (entry, where its error is recorded, a fragment of the sentence)
    ({"name": "n" * 101}, "entry-1", "101 characters, longer than the 100"),
    ({"name": "long-context", "context": "c" * 201}, "long-context", "context is 201 characters"),
    (
        {"name": "long-kubeconfig", "kubeconfig": "/k" + "k" * 500},
        "long-kubeconfig",
        "kubeconfig is 502 characters, longer than the 500",
    ),
    (
        {"name": "huge-interval", "poll_interval": 10**12},
        "huge-interval",
        "poll_interval must be a whole number of seconds from 5 to 86400",
    ),
    ({"name": "nul-context", "context": "a\x00b"}, "nul-context", "context contains a NUL"),
    ({"name": "list-context", "context": ["a"]}, "list-context", "context must be a string"),
]


@pytest.mark.parametrize(
    ("entry", "row", "message"), BAD_ENTRIES, ids=[row for _, row, _ in BAD_ENTRIES]
)
def test_a_bad_entry_is_broken_and_the_good_one_is_polled(
    demo_kubeconfig, tmp_path, settings, entry, row, message
):
    settings.TIDEWATCH_CLUSTERS = str(
        _write(
            tmp_path / "clusters.yaml",
            [entry, {"name": "good", "kubeconfig": str(demo_kubeconfig), "context": "demo"}],
        )
    )
    with pytest.raises(CommandError, match="at least one cluster could not be polled"):
        call_command("poll")
    bad = Cluster.objects.get(name=row)
    assert message in bad.config_error
    assert Cluster.objects.get(name="good").config_error == ""
    assert GitOpsObject.objects.filter(cluster__name="good").count() > 0


def test_a_kubeconfig_that_is_a_directory_says_so(tmp_path, settings):
    (tmp_path / "kube").mkdir()
    path = _write(tmp_path / "clusters.yaml", [{"name": "a", "kubeconfig": "kube"}])
    (cluster,) = sync_clusters(str(path))
    assert f"kubeconfig {tmp_path / 'kube'} is a directory" in cluster.config_error


def test_the_first_valid_entry_of_a_name_wins_and_the_duplicate_is_reported(tmp_path):
    path = _write(
        tmp_path / "clusters.yaml",
        [
            {"name": "a", "poll_interval": 1},  # broken: does not claim the name
            {"name": "a", "context": "first-valid"},
            {"name": "a", "context": "second-valid"},
            {"name": "b"},
        ],
    )
    sync_clusters(str(path))
    winner = Cluster.objects.get(name="a")
    assert (winner.config_error, winner.context) == ("", "first-valid")
    reported = dict(
        Cluster.objects.exclude(name__in=["a", "b"]).values_list("name", "config_error")
    )
    assert set(reported) == {"entry-1", "entry-3"}
    assert "duplicate cluster name 'a'; entry 2 is the one polled" in reported["entry-3"]
    assert "poll_interval must be" in reported["entry-1"]  # its own problem is kept too
    assert Cluster.objects.get(name="b").config_error == ""


def test_a_value_the_database_refuses_breaks_that_entry_only(tmp_path):
    """The parser cannot foresee everything the database refuses (here a NUL byte in an
    ownership file, which PostgreSQL text cannot hold): each entry has its own savepoint."""
    boundaries = tmp_path / "boundaries.yaml"
    boundaries.write_text("namespaces:\x00\n")
    path = _write(
        tmp_path / "clusters.yaml",
        [{"name": "a", "ownership": str(boundaries)}, {"name": "b"}, {"name": "c"}],
    )
    sync_clusters(str(path))
    assert set(Cluster.objects.values_list("name", flat=True)) == {"a", "b", "c"}
    assert Cluster.objects.get(name="b").config_error == ""
    if connection.vendor == "postgresql":
        assert "the database refused this entry" in Cluster.objects.get(name="a").config_error
