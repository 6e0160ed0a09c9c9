"""The demo timeline seen end to end: timeline writes -> HTTP -> poll -> stored status history."""

from __future__ import annotations

import pytest

from clusters.demo.server import DemoCluster
from clusters.demo.timeline import Timeline
from clusters.management.commands.demo import Command
from clusters.models import Event, GitOpsObject, StatusTransition
from clusters.poll import poll_cluster

pytestmark = pytest.mark.django_db


def monitoring() -> GitOpsObject:
    return GitOpsObject.objects.get(kind="HelmRelease", namespace="bigbang", name="monitoring")


def status_changes() -> list[tuple[str, str]]:
    changes = StatusTransition.objects.filter(
        kind="HelmRelease", namespace="bigbang", name="monitoring", field="status"
    ).order_by("at", "id")
    return [(c.from_value, c.to_value) for c in changes]


def test_a_polled_helmrelease_goes_degraded_and_heals_with_the_timeline(
    demo: DemoCluster, demo_cluster
) -> None:
    timeline = Timeline(demo)
    assert poll_cluster(demo_cluster).ok
    assert monitoring().status == "Healthy"

    timeline.step()  # upgrade starts
    timeline.step()  # upgrade fails
    run = poll_cluster(demo_cluster)

    assert run.ok, run.errors
    failed = monitoring()
    assert failed.status == "Degraded" and failed.reason == "UpgradeFailed"
    assert "field is immutable" in failed.message
    assert failed.sync == "OutOfSync"
    assert ("Healthy", "Degraded") in status_changes()
    assert Event.objects.filter(
        involved_kind="HelmRelease", involved_name="monitoring", reason="UpgradeFailed"
    ).exists()

    timeline.step()  # rolled back: still Degraded, the failure leads the message
    timeline.step()  # a fixed chart upgrades
    assert poll_cluster(demo_cluster).ok

    healed = monitoring()
    assert healed.status == "Healthy" and healed.sync == "Synced"
    assert healed.reason == "UpgradeSucceeded"
    assert status_changes()[-1] == ("Degraded", "Healthy")


def test_manage_py_demo_plays_the_timeline_unless_told_not_to() -> None:
    parser = Command().create_parser("manage.py", "demo")
    defaults = parser.parse_args([])
    assert not defaults.no_timeline and defaults.step_seconds == 15.0
    chosen = parser.parse_args(["--no-timeline", "--step-seconds", "5"])
    assert chosen.no_timeline and chosen.step_seconds == 5.0
