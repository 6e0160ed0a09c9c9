"""Hostile object fields and discovery documents (issue 10): the offending object is skipped
with a reason the pages show, the rest of the kind is stored, and the poll goes on.

A real API server validates names and generates uids, so the hostile objects are served the
way a non-conforming server (or a proxy in front of one) would: in the list body itself.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clusters.collect.discovery import group_versions
from clusters.kube import KubeError
from clusters.models import Cluster, GitOpsObject, KindState, PollRun
from clusters.poll import poll_cluster
from tests.reliability.world import FAULTY, HEALTHY, HELMRELEASE, make_world

pytestmark = pytest.mark.django_db

GROUP = "kustomize.toolkit.fluxcd.io"


def _kustomization(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Kustomization",
        "metadata": metadata,
        "spec": {"interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {},
    }


def _serve_kustomizations(demo, items: list[dict[str, Any]]) -> None:
    body = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "KustomizationList",
        "metadata": {"resourceVersion": "1"},
        "items": items,
    }
    demo.set_fault("/kustomizations?", status=200, body=body)


HOSTILE = [
    # (id, metadata, namespace page that names it, a fragment of the reason)
    (
        "uid-too-long",
        {"name": "long-uid", "namespace": "flux-system", "uid": "u" * 300},
        "flux-system",
        "metadata.uid is 300 characters, longer than 64",
    ),
    (
        "resource-version-too-long",
        {"name": "long-rv", "namespace": "flux-system", "resourceVersion": "9" * 100},
        "flux-system",
        "metadata.resourceVersion is 100 characters, longer than 64",
    ),
    (
        "name-too-long",
        {"name": "n" * 300, "namespace": "flux-system"},
        "flux-system",
        "metadata.name is 300 characters, longer than 253",
    ),
    (
        "namespace-not-a-string",
        {"name": "odd-namespace", "namespace": ["flux-system"]},
        None,
        "metadata.namespace is a list, not a string",
    ),
    (
        "namespace-too-long",
        {"name": "long-namespace", "namespace": "s" * 300},
        None,
        "metadata.namespace is 300 characters, longer than 253",
    ),
]


@pytest.mark.parametrize(
    ("metadata", "page", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_hostile_object_is_skipped_with_the_reason_and_the_rest_stored(
    demo, demo_cluster, client, settings, metadata, page, reason
):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    good = demo.list(GROUP, "kustomizations", None)
    _serve_kustomizations(demo, [*good, _kustomization(metadata)])

    run = poll_cluster(demo_cluster)

    assert run.finished_at is not None and run.error == ""
    names = set(GitOpsObject.objects.filter(kind="Kustomization").values_list("name", flat=True))
    assert names == {o["metadata"]["name"] for o in good}
    state = KindState.objects.get(cluster=demo_cluster, kind="Kustomization")
    assert state.state == KindState.OK and state.skipped_count == 1
    assert reason in state.skipped[0]["reason"]

    overview = html.unescape(client.get(reverse("overview")).content.decode())
    assert "1 Kustomization object skipped, not stored" in overview and reason in overview
    assert "partial" in overview  # the card no longer says "live"
    if page:
        body = client.get(reverse("namespace", args=[demo_cluster.name, page])).content.decode()
        assert reason in html.unescape(body)
    api = client.get(reverse("api-clusters")).json()
    (kind,) = [k for k in api["clusters"][0]["kinds"] if k["kind"] == "Kustomization"]
    assert kind["skippedCount"] == 1

    demo.clear_faults()
    poll_cluster(demo_cluster)
    state.refresh_from_db()
    assert state.skipped_count == 0 and state.skipped == []


def test_a_stored_object_whose_field_turns_hostile_is_kept_not_deleted(demo, demo_cluster):
    poll_cluster(demo_cluster)
    before = GitOpsObject.objects.get(kind="Kustomization", name="infrastructure")
    items = demo.list(GROUP, "kustomizations", None)
    for item in items:
        if item["metadata"]["name"] == "infrastructure":
            item["metadata"]["resourceVersion"] = "7" * 65
    _serve_kustomizations(demo, items)

    poll_cluster(demo_cluster)

    kept = GitOpsObject.objects.get(kind="Kustomization", name="infrastructure")
    assert kept.resource_version == before.resource_version  # the last stored state, unchanged
    state = KindState.objects.get(kind="Kustomization")
    assert state.skipped_count == 1 and state.skipped[0]["name"] == "infrastructure"


def test_a_malformed_discovery_document_gives_that_kind_a_reason(demo, demo_cluster):
    demo.set_fault(
        f"/apis/{GROUP}/v1", status=200, body={"kind": "APIResourceList", "resources": "x"}
    )

    run = poll_cluster(demo_cluster)

    state = KindState.objects.get(cluster=demo_cluster, kind="Kustomization")
    assert (state.state, state.reason) == (KindState.ERROR, "InvalidResponse")
    assert "'resources' is a str, not a list" in state.error
    assert run.finished_at is not None and GitOpsObject.objects.filter(kind="HelmRelease").exists()


GROUP_LISTS = [
    # (id, APIGroupList groups, expected group → versions)
    (
        "preferred-version-a-string",
        [
            {
                "name": "g",
                "versions": [{"version": "v1"}, {"version": "v2"}],
                "preferredVersion": "v2",
            }
        ],
        {"g": ["v1", "v2"]},
    ),
    (
        "preferred-version-first",
        [
            {
                "name": "g",
                "versions": [{"version": "v1"}, {"version": "v2"}],
                "preferredVersion": {"version": "v2"},
            }
        ],
        {"g": ["v2", "v1"]},
    ),
    ("versions-not-a-list", [{"name": "g", "versions": "v1"}], {}),
    (
        "version-not-a-string",
        [{"name": "g", "versions": [{"version": 1}, {"version": "v1"}]}],
        {"g": ["v1"]},
    ),
    ("group-not-a-mapping", ["g", {"name": 5, "versions": [{"version": "v1"}]}], {}),
]


@pytest.mark.parametrize(
    ("groups", "expected"), [g[1:] for g in GROUP_LISTS], ids=[g[0] for g in GROUP_LISTS]
)
def test_group_versions_reads_what_it_can_of_a_malformed_group_list(groups, expected):
    assert group_versions({"groups": groups}) == expected


def test_a_group_list_that_is_not_a_list_is_a_clear_error():
    with pytest.raises(KubeError, match="'groups' is a dict, not a list"):
        group_versions({"groups": {"name": "g"}})


def test_an_unexpected_error_in_one_poll_is_recorded_and_the_next_cluster_polled(
    tmp_path, settings, monkeypatch, client
):
    """A bug (simulated: the roll-up rebuild raises for one cluster) ends that cluster's poll:
    its PollRun is closed with the reason, its card says it, and `manage.py poll` goes on."""
    from clusters import poll

    world = make_world(tmp_path, settings)
    try:
        real = poll.refresh_ownership

        def broken_for_faulty(cluster: Cluster) -> None:
            if cluster.name == FAULTY:
                raise RuntimeError("simulated bug in the ownership analysis")
            real(cluster)

        monkeypatch.setattr(poll, "refresh_ownership", broken_for_faulty)
        with pytest.raises(CommandError, match="at least one cluster could not be polled"):
            call_command("poll")  # polls "faulty" first (clusters are ordered by name)
    finally:
        world.stop()

    run = PollRun.objects.get(cluster__name=FAULTY)
    assert run.finished_at is not None and not run.ok
    assert "simulated bug in the ownership analysis" in run.error
    faulty = Cluster.objects.get(name=FAULTY)
    assert faulty.last_error_reason == "InternalError"
    assert PollRun.objects.get(cluster__name=HEALTHY).ok
    assert GitOpsObject.objects.filter(cluster__name=HEALTHY, kind=HELMRELEASE.kind).exists()
    settings.TIDEWATCH_ANONYMOUS_READ = True
    overview = html.unescape(client.get(reverse("overview")).content.decode())
    assert "InternalError: the poll stopped on an unexpected error" in overview
