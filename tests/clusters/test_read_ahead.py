"""Read-ahead on the first sync (issue 11), over HTTP against the demo cluster.

A list page is fetched while the one before is being stored, never more than one page ahead;
every object still arrives once, in the server's order; a page that fails while it was read
ahead fails the kind exactly as before (stale with the reason, the stored objects kept).
Waits are on conditions (a request the demo cluster received, a row stored), never on time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from clusters.collect.discovery import discover
from clusters.collect.flux import HELM
from clusters.collect.kinds import ServedKind
from clusters.collect.readahead import read_ahead
from clusters.collect.snapshot import GITOPS_KINDS, KindResult, collect_cluster
from clusters.collect.watch import LISTED, Informer, Synced, WatchEvent
from clusters.demo.server import DemoCluster
from clusters.kube import ClusterSpec, build_api_client, list_all
from clusters.models import Cluster, GitOpsObject, KindState, StatusTransition
from clusters.poll import poll_cluster
from clusters.sync import watch_cluster

WAIT = 60.0  # generous: a loaded 2-core machine must never fail these on time
HELM_RELEASE = next(
    spec for spec in GITOPS_KINDS if (spec.group, spec.kind) == (HELM, "HelmRelease")
)


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def api(demo_kubeconfig: Path) -> Iterator[Any]:
    client = build_api_client(ClusterSpec("demo", str(demo_kubeconfig), "demo"))
    yield client
    client.close()


@pytest.fixture
def helm_releases(api: Any) -> ServedKind:
    served, errors = discover(api, [HELM_RELEASE])
    assert not errors
    return served[HELM_RELEASE]


def names(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items]


# --- the poll's lists ----------------------------------------------------------------------------


def test_the_next_page_is_requested_while_this_one_is_stored(
    demo: DemoCluster, api: Any, helm_releases: ServedKind
) -> None:
    whole = names(list_all(api, helm_releases.list_path(), page_size=500))
    assert len(whole) >= 4, "the demo platform needs a few HelmReleases for pages of 1"
    # The second page waits at the server until the test lets it go: it is asked for while the
    # consumer still holds the first, which is what read-ahead means.
    release = threading.Event()
    second = demo.set_fault("helmreleases?limit=1&continue=", hold=release, once=True)
    seen: list[tuple[str, str]] = []
    requests_at_page: list[int] = []

    def consume(result: KindResult) -> None:
        if result.spec != HELM_RELEASE:
            return
        assert result.pages is not None
        for number, page in enumerate(result.pages, start=1):
            if number == 1:
                wait_until(lambda: second.hits == 1, "page 2 to be asked for while page 1 is held")
                release.set()
            requests_at_page.append(demo.list_requests[f"{HELM}/helmreleases"])
            seen.extend(names(page))

    collect_cluster(api, kinds=(HELM_RELEASE,), page_size=1, on_kind=consume)

    assert seen == whole, "every object once, in the server's order"
    # One page ahead at most: while page k is handled, at most k + 1 pages were asked for
    # (the first list_all above is one more request).
    assert all(n - 1 <= k + 1 for k, n in enumerate(requests_at_page, start=1)), requests_at_page


def test_read_ahead_raises_a_page_failure_where_that_page_would_have_been() -> None:
    def pages() -> Iterator[list[int]]:
        yield [1, 2]
        yield [3]
        raise RuntimeError("page 3 failed")

    got: list[list[int]] = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in read_ahead(pages()):
            got.append(page)
    assert got == [[1, 2], [3]]


def test_a_page_failing_while_read_ahead_keeps_the_stored_objects(
    demo: DemoCluster, demo_cluster: Cluster, settings: Any
) -> None:
    poll_cluster(demo_cluster)
    stored = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    settings.TIDEWATCH_LIST_PAGE_SIZE = 1
    # Page 3 is read ahead while page 2 is stored, and fails.
    demo.set_fault("helmreleases?limit=1&continue=", status=200, once=True)
    demo.set_fault("helmreleases?limit=1&continue=", status=500)

    run = poll_cluster(demo_cluster)

    assert run.errors["helm.toolkit.fluxcd.io/HelmRelease"]["reason"] == "ServerError"
    after = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    assert after == stored
    state = KindState.objects.get(kind="HelmRelease")
    assert (state.state, state.reason) == (KindState.ERROR, "ServerError")
    assert not StatusTransition.objects.filter(kind="HelmRelease", to_value="Deleted").exists()
    assert GitOpsObject.objects.filter(kind="Kustomization").exists(), "other kinds are stored"


# --- the watcher's lists -------------------------------------------------------------------------


def first_list(api: Any, kind: ServedKind, **kwargs: Any) -> tuple[list[list[WatchEvent]], Synced]:
    """One Informer's first list, page by page (``on_page``); it stops once synced."""
    stop = threading.Event()
    pages: list[list[WatchEvent]] = []
    synced: list[Synced] = []

    def on_synced(done: Synced) -> None:
        synced.append(done)
        stop.set()

    Informer(
        api,
        kind,
        on_event=lambda event: pytest.fail(f"a listed object came alone: {event}"),
        on_page=pages.append,
        on_synced=on_synced,
        stop=stop,
        **kwargs,
    ).run()
    assert len(synced) == 1
    return pages, synced[0]


@pytest.mark.parametrize("from_watch_cache", [True, False], ids=["watch cache", "paged"])
def test_the_informer_hands_a_list_over_in_pages_of_page_size(
    api: Any, helm_releases: ServedKind, from_watch_cache: bool
) -> None:
    whole = names(list_all(api, helm_releases.list_path(), page_size=500))

    # The watch cache sends the whole kind in one answer (it ignores limit): it is handed over
    # in slices all the same, so the queue to the store holds pages, not whole kinds.
    pages, synced = first_list(api, helm_releases, page_size=2, from_watch_cache=from_watch_cache)

    assert all(1 <= len(page) <= 2 for page in pages)
    assert [
        (e.object["metadata"]["namespace"], e.object["metadata"]["name"]) for p in pages for e in p
    ] == whole
    assert all(e.type == LISTED for page in pages for e in page)
    assert synced.keys == set(whole)


def test_the_watcher_drops_managed_fields_as_it_reads(api: Any, helm_releases: ServedKind) -> None:
    listed = list_all(api, helm_releases.list_path(), page_size=500)
    assert all("managedFields" in o["metadata"] for o in listed), "the demo sends them"

    pages, _ = first_list(api, helm_releases, page_size=500, drop_managed_fields=True)

    assert not any("managedFields" in e.object["metadata"] for page in pages for e in page)


@pytest.mark.django_db(transaction=True)
def test_a_first_watch_list_failing_part_way_marks_the_kind_stale_and_keeps_its_objects(
    demo: DemoCluster, demo_cluster: Cluster, settings: Any
) -> None:
    poll_cluster(demo_cluster)
    stored = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    settings.TIDEWATCH_LIST_PAGE_SIZE = 1
    # The watch-cache list is refused as expired, so the list is paged from etcd; its third
    # page (read ahead while the second is handed over) fails.
    demo.set_fault("helmreleases?limit=1&resourceVersion=0", status=410, once=True)
    demo.set_fault("helmreleases?limit=1&continue=", status=200, once=True)
    demo.set_fault("helmreleases?limit=1&continue=", status=500)
    stop = threading.Event()

    def failed() -> bool:
        state = KindState.objects.filter(kind="HelmRelease").first()
        listed = KindState.objects.filter(kind="Kustomization", resource_version__gt="").exists()
        return bool(state and state.state == KindState.ERROR and listed)

    def on_batch() -> None:
        if failed():
            stop.set()

    def run() -> None:
        try:
            watch_cluster(demo_cluster, stop=stop, max_seconds=WAIT, on_batch=on_batch)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(WAIT + 15)
    assert not thread.is_alive()

    state = KindState.objects.get(kind="HelmRelease")
    assert (state.state, state.reason) == (KindState.ERROR, "ServerError")
    after = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    assert after == stored, "nothing the failed list did not reach is deleted"
    assert not StatusTransition.objects.filter(kind="HelmRelease", to_value="Deleted").exists()
