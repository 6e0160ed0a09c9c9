"""A poll killed between writing objects and deriving from them (issue 10): the next poll must
rebuild ownership and roll-ups, although it sees no change in the objects themselves.

The kill is simulated deterministically: the ownership refresh raises a BaseException (as a
SIGKILL, nothing after it runs — no except clause, no PollRun update), right after the kinds
were committed. No timing is involved.
"""

from __future__ import annotations

import pytest

from clusters import poll
from clusters.models import Cluster, GitOpsObject, NamespaceRollup
from clusters.poll import poll_cluster
from clusters.store.rollups import rebuild_rollups

pytestmark = pytest.mark.django_db

GROUP = "kustomize.toolkit.fluxcd.io"
DEGRADED = ["flux-system", "infrastructure", "platform-certificates", "tenants"]


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing below the kill point runs."""


def _degrade(demo) -> None:
    for name in DEGRADED:
        condition = {
            "type": "Ready",
            "status": "False",
            "reason": "BuildFailed",
            "message": f"kustomize build failed for {name}",
            "lastTransitionTime": "2026-11-26T10:00:00Z",
            "observedGeneration": 1,
        }
        demo.patch_status(GROUP, "kustomizations", "flux-system", name, {"conditions": [condition]})


def _kill_before_derived(monkeypatch) -> None:
    def killed(cluster: Cluster) -> None:
        raise Killed

    monkeypatch.setattr(poll, "refresh_ownership", killed)


def test_a_poll_killed_before_its_rollups_is_repaired_by_the_next_poll(
    demo, demo_cluster, monkeypatch
):
    poll_cluster(demo_cluster)
    before = NamespaceRollup.objects.get(namespace="flux-system")
    assert before.status != "Degraded" and "Degraded" not in before.status_counts

    _degrade(demo)
    _kill_before_derived(monkeypatch)
    with pytest.raises(Killed):
        poll_cluster(demo_cluster)
    monkeypatch.undo()
    # The objects were committed; the derived rows were not rebuilt.
    assert GitOpsObject.objects.filter(kind="Kustomization", status="Degraded").count() == 4
    stuck = NamespaceRollup.objects.get(namespace="flux-system")
    assert (stuck.status, stuck.status_counts) == (before.status, before.status_counts)

    poll_cluster(demo_cluster)  # nothing changed in the cluster since the killed poll

    rollup = NamespaceRollup.objects.get(namespace="flux-system")
    assert rollup.status == "Degraded"
    assert rollup.status_counts.get("Degraded") == 4
    assert rebuild_rollups(demo_cluster) == 0, "every roll-up already matches the objects"
    assert not Cluster.objects.get(pk=demo_cluster.pk).derived_dirty


def test_a_crash_then_an_unreachable_cluster_still_converges_once_it_answers(
    demo, demo_cluster, monkeypatch
):
    """The mark survives a failed poll in between: only a poll that rebuilt both ownership and
    roll-ups clears it."""
    poll_cluster(demo_cluster)
    _degrade(demo)
    _kill_before_derived(monkeypatch)
    with pytest.raises(Killed):
        poll_cluster(demo_cluster)
    monkeypatch.undo()

    demo.set_fault("/api", status=401)
    assert poll_cluster(demo_cluster).error.startswith("Unauthorized")
    assert Cluster.objects.get(pk=demo_cluster.pk).derived_dirty
    demo.clear_faults()

    poll_cluster(demo_cluster)
    assert NamespaceRollup.objects.get(namespace="flux-system").status == "Degraded"
    assert rebuild_rollups(demo_cluster) == 0
    assert not Cluster.objects.get(pk=demo_cluster.pk).derived_dirty
