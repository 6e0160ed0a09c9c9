"""The list + watch informer, over HTTP against the demo cluster through the real client.

Each test runs an Informer in a thread and waits on what its consumer received (a condition
variable, generous bounds): never on a sleep, never on winning a race. Time for resyncs is a
clock the test moves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from clusters.collect.discovery import discover
from clusters.collect.flux import FLUX_KINDS, HELM, KUSTOMIZE
from clusters.collect.kinds import ServedKind
from clusters.collect.watch import (
    DELETED,
    EXPIRED,
    INITIAL,
    LISTED,
    MODIFIED,
    RESYNC,
    Action,
    Informer,
    Synced,
    WatchEvent,
    WatchState,
    WatchUnavailable,
    classify_failure,
    classify_line,
    list_query,
    object_key,
    relist_version,
    resync_due,
    watch_timeout_for,
)
from clusters.demo.server import DemoCluster, status_body
from clusters.kube import DEFAULT_LIMITS, ClusterSpec, KubeError, build_api_client

KUSTOMIZATION = next(spec for spec in FLUX_KINDS if spec.kind == "Kustomization")
WAIT = 30.0  # generous: a loaded 2-core machine must never fail these on time


# --- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "action"),
    [
        (410, "too old resource version: 2 (290)", Action.RELIST),
        (410, "", Action.RELIST),
        (None, "too old resource version: 5 (9)", Action.RELIST),
        (504, "Too large resource version: 900, current: 800", Action.RELIST),
        (403, 'cannot watch resource "kustomizations"', Action.FORBIDDEN),
        (500, "etcdserver: request timed out", Action.RETRY),
        (503, "", Action.RETRY),
        (429, "too many requests", Action.RETRY),
        (None, "dropped the connection", Action.RETRY),
        (401, "Unauthorized", Action.FAIL),
        (404, "not found", Action.FAIL),
        (400, "bad request", Action.FAIL),
    ],
)
def test_classify_failure(status: int | None, message: str, action: Action) -> None:
    assert classify_failure(status, message) is action


@pytest.mark.parametrize(
    ("document", "action"),
    [
        ({"type": "ADDED", "object": {"metadata": {}}}, Action.EVENT),
        ({"type": "MODIFIED", "object": {}}, Action.EVENT),
        ({"type": "DELETED", "object": {}}, Action.EVENT),
        ({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "7"}}}, Action.BOOKMARK),
        ({"type": "ERROR", "object": {"code": 410, "message": "too old"}}, Action.RELIST),
        ({"type": "ERROR", "object": {"code": 500, "message": "oops"}}, Action.RETRY),
        ({"type": "ERROR", "object": {"code": 403, "message": "no"}}, Action.FORBIDDEN),
        ({"type": "ERROR", "object": {"code": "410", "message": "x"}}, Action.RETRY),
        ({"type": "ADDED", "object": "not an object"}, Action.RETRY),
        ({"type": "SURPRISE", "object": {}}, Action.RETRY),
        (["not", "a", "dict"], Action.RETRY),
    ],
)
def test_classify_line(document: Any, action: Action) -> None:
    assert classify_line(document) is action


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        (
            {"page_size": 500, "resource_version": "0"},
            [("limit", 500), ("resourceVersion", "0"), ("resourceVersionMatch", "NotOlderThan")],
        ),
        ({"page_size": 500, "resource_version": None}, [("limit", 500)]),
        (
            {"page_size": 50, "token": "abc", "resource_version": "0"},
            [("limit", 50), ("continue", "abc")],
        ),
    ],
)
def test_list_query(kwargs: dict[str, Any], query: list[tuple[str, Any]]) -> None:
    assert list_query(**kwargs) == query


@pytest.mark.parametrize(
    ("seen", "reason", "cache", "version"),
    [
        ("", INITIAL, True, "0"),
        ("120", RESYNC, True, "120"),
        ("", RESYNC, True, "0"),
        ("120", EXPIRED, True, None),
        ("", INITIAL, False, None),
        ("120", RESYNC, False, None),
    ],
)
def test_relist_version(seen: str, reason: str, cache: bool, version: str | None) -> None:
    assert relist_version(WatchState("k", resource_version=seen), reason, cache) == version


@pytest.mark.parametrize(
    ("now", "next_resync", "watch_timeout", "timeout"),
    [
        (0.0, None, 300, 300),
        (0.0, 600.0, 300, 300),
        (500.0, 600.0, 300, 100),
        (599.5, 600.0, 300, 1),
        (700.0, 600.0, 300, 1),
        (0.0, None, 0, 1),
    ],
)
def test_watch_timeout_for(
    now: float, next_resync: float | None, watch_timeout: int, timeout: int
) -> None:
    assert watch_timeout_for(now, next_resync, watch_timeout) == timeout


@pytest.mark.parametrize(
    ("since", "now", "due"),
    [(None, 1e9, False), (0.0, 599.9, False), (0.0, 600.0, True), (100.0, 800.0, True)],
)
def test_resync_due(since: float | None, now: float, due: bool) -> None:
    assert resync_due(since, now, 600.0) is due


@pytest.mark.parametrize(
    ("obj", "key"),
    [
        ({"metadata": {"namespace": "a", "name": "b"}}, ("a", "b")),
        ({"metadata": {"name": "ns"}}, ("", "ns")),
        ({"metadata": {"namespace": 5, "name": "b"}}, ("", "b")),
        ({"metadata": {"namespace": "a"}}, None),
        ({}, None),
    ],
)
def test_object_key(obj: dict[str, Any], key: tuple[str, str] | None) -> None:
    assert object_key(obj) == key


# --- harness --------------------------------------------------------------------------------------


class Recorder:
    """The consumer: records what arrived and keeps a mirror of the kind as a store would."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[WatchEvent] = []
        self.synced: list[Synced] = []
        self.bookmarks: list[str] = []
        self.mirror: dict[tuple[str, str], dict[str, Any]] = {}

    def on_event(self, event: WatchEvent) -> None:
        with self.cond:
            self.events.append(event)
            key = object_key(event.object)
            assert key is not None
            if event.type == DELETED:
                self.mirror.pop(key, None)
            else:
                self.mirror[key] = event.object
            self.cond.notify_all()

    def on_synced(self, synced: Synced) -> None:
        with self.cond:
            self.synced.append(synced)
            self.mirror = {k: v for k, v in self.mirror.items() if k in synced.keys}
            self.cond.notify_all()

    def on_bookmark(self, version: str) -> None:
        with self.cond:
            self.bookmarks.append(version)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), f"timed out waiting for {what}"

    def watched(self, type_: str = MODIFIED) -> list[tuple[str, str]]:
        """(name, Ready status) of each watch event of that type, in order."""
        with self.cond:
            return [
                (e.object["metadata"]["name"], ready_status(e.object))
                for e in self.events
                if e.type == type_
            ]


def eventually(predicate: Callable[[], bool], what: str) -> None:
    """Re-check a counter of the demo cluster every 0.05 s up to a generous bound (it offers no
    hook to wait on): this waits on observable state, never on a guess."""
    deadline = time.monotonic() + WAIT
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.05)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ready_status(obj: dict[str, Any]) -> str:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return ""


def set_ready(demo: DemoCluster, name: str, status: str) -> dict[str, Any]:
    ready = {
        "type": "Ready",
        "status": status,
        "reason": "ReconciliationSucceeded" if status == "True" else "ReconciliationFailed",
        "message": f"Ready is {status}",
        "lastTransitionTime": "2026-12-01T12:00:00Z",
        "observedGeneration": 1,
    }
    return demo.patch_status(
        KUSTOMIZE, "Kustomization", "flux-system", name, {"conditions": [ready]}
    )


def demo_state(demo: DemoCluster) -> dict[tuple[str, str], str]:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
        for o in demo.list(KUSTOMIZE, "Kustomization")
    }


def mirror_state(recorder: Recorder) -> dict[tuple[str, str], str]:
    with recorder.cond:
        return {k: v["metadata"]["resourceVersion"] for k, v in recorder.mirror.items()}


class Running:
    """An informer in a thread; ``finish()`` stops it and returns what ``run()`` returned/raised."""

    def __init__(self, informer: Informer) -> None:
        self.informer = informer
        self.result: WatchState | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.informer.run()
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            self.error = exc

    def join(self) -> None:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "informer did not end"

    def finish(self) -> WatchState:
        self.informer.stop()
        self.join()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@pytest.fixture
def kind_and_api(demo: DemoCluster, demo_kubeconfig: Path) -> Iterator[tuple[Any, ServedKind]]:
    api = build_api_client(ClusterSpec("demo", str(demo_kubeconfig), "demo"))
    served, errors = discover(api, [KUSTOMIZATION])
    assert not errors
    yield api, served[KUSTOMIZATION]
    api.close()


@pytest.fixture
def start(
    kind_and_api: tuple[Any, ServedKind],
) -> Iterator[Callable[..., tuple[Recorder, Running]]]:
    api, kind = kind_and_api
    running: list[Running] = []

    def make(recorder: Recorder | None = None, **kwargs: Any) -> tuple[Recorder, Running]:
        recorder = recorder or Recorder()
        informer = Informer(
            api,
            kind,
            on_event=recorder.on_event,
            on_synced=recorder.on_synced,
            on_bookmark=recorder.on_bookmark,
            **{"backoff_seconds": 0.0, **kwargs},
        )
        running.append(Running(informer))
        return recorder, running[-1]

    yield make
    for run in running:
        run.informer.stop()
        run.thread.join(WAIT)


# --- list, then watch -----------------------------------------------------------------------------


def test_first_list_hands_every_object_then_synced(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    recorder, running = start()
    recorder.wait_for(lambda: recorder.synced, "the first list")
    (synced,) = recorder.synced
    assert synced.reason == INITIAL
    assert synced.keys == set(demo_state(demo))
    assert synced.resource_version == str(demo.resource_version)
    assert {e.type for e in recorder.events} == {LISTED}
    assert mirror_state(recorder) == demo_state(demo)
    state = running.finish()
    assert (state.lists, state.resource_version) == (1, synced.resource_version)


def test_watch_events_arrive_in_order_and_a_flip_and_revert_is_two_events(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    recorder, running = start()
    recorder.wait_for(lambda: recorder.synced, "the first list")
    # Written back to back, faster than any poll: a flip that reverts must still be two events.
    set_ready(demo, "infrastructure", "False")
    set_ready(demo, "tenants", "False")
    set_ready(demo, "infrastructure", "True")
    demo.delete(KUSTOMIZE, "Kustomization", "flux-system", "platform-certificates")
    recorder.wait_for(lambda: recorder.watched(DELETED), "the delete")
    assert recorder.watched(MODIFIED) == [
        ("infrastructure", "False"),
        ("tenants", "False"),
        ("infrastructure", "True"),
    ]
    assert [name for name, _ in recorder.watched(DELETED)] == ["platform-certificates"]
    versions = [int(e.resource_version) for e in recorder.events if e.type != LISTED]
    assert versions == sorted(versions)
    assert mirror_state(recorder) == demo_state(demo)
    state = running.finish()
    assert state.lists == 1  # no list after the first: changes came by watch
    assert state.resource_version == str(demo.resource_version)


def test_a_burst_of_flips_is_every_flip_in_order(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    recorder, running = start()
    recorder.wait_for(lambda: recorder.synced, "the first list")
    flips = ["False", "True"] * 20
    for status in flips:
        set_ready(demo, "tenants", status)
    recorder.wait_for(lambda: len(recorder.watched()) == len(flips), "every flip")
    assert recorder.watched() == [("tenants", status) for status in flips]
    assert running.finish().lists == 1


def test_bookmarks_advance_the_resource_version(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    demo.bookmark_interval = 0.2
    recorder, running = start()
    recorder.wait_for(lambda: recorder.synced, "the first list")
    listed_at = recorder.synced[0].resource_version
    # A change of another kind moves the cluster's version but sends no Kustomization event.
    demo.patch(HELM, "HelmRelease", "bigbang", "bigbang", {"metadata": {"labels": {"x": "y"}}})
    target = str(demo.resource_version)
    assert int(target) > int(listed_at)
    recorder.wait_for(lambda: target in recorder.bookmarks, "a bookmark at the new version")
    assert [e.type for e in recorder.events] == [LISTED] * len(recorder.synced[0].keys)
    state = running.finish()
    assert state.resource_version == target
    assert state.last_bookmark is not None
    # What the bookmark buys: etcd compacts up to now, and a restart from the bookmarked
    # version still watches on (the list's own version is gone, it would mean a full list).
    demo.compact()
    assert int(listed_at) < demo.store.compacted
    recorder, running = start(resume_from=state.resource_version)
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "the change after resuming")
    assert recorder.watched() == [("tenants", "False")]
    assert recorder.synced == []
    assert running.finish().lists == 0


def test_a_clean_end_of_stream_rewatches_from_the_last_version_without_listing(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    # Counts the watch requests and answers them normally. A timed-out watch ends with no
    # bookmark (as on a real server): the requests are what shows a stream ended and was renewed.
    watches = demo.set_fault("kustomizations?watch=true", status=200)
    recorder, running = start(watch_timeout=1)
    eventually(lambda: watches.hits >= 3, "two watch streams to end")
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "the change")
    assert recorder.watched() == [("tenants", "False")]
    state = running.finish()
    assert state.lists == 1
    assert state.watches >= 2


def test_a_consistent_list_pages_through_continue_tokens(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    continued = demo.set_fault("continue=", status=200)  # first match wins: register it first
    pages = demo.set_fault("kustomizations?limit=2", status=200)
    recorder, running = start(page_size=2, from_watch_cache=False)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert (pages.hits, continued.hits) == (1, 2)  # six objects, two a page
    assert recorder.synced[0].keys == set(demo_state(demo))
    assert recorder.synced[0].resource_version == str(demo.resource_version)
    running.finish()


def watch_cache_list_bytes(api: Any, kind: ServedKind) -> int:
    """The size of the kind's whole-kind answer from the watch cache (resourceVersion=0)."""
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        kind.list_path(),
        query_params=list_query(page_size=1, resource_version="0"),
        header_params={"Accept": "application/json", "Accept-Encoding": "identity"},
        auth_settings=["BearerToken"],
    )
    return len(api.call_api(method, url, header_params=headers).response.read())


def test_a_watch_cache_list_over_the_response_cap_is_listed_again_paged(
    demo: DemoCluster,
    kind_and_api: tuple[Any, ServedKind],
    start: Callable[..., tuple[Recorder, Running]],
) -> None:
    """resourceVersion=0 is served from the watch cache, which ignores limit (as the real
    kube-apiserver does, tests/conformance/test_watch.py): a big kind comes as one body. Over
    the response cap, the first list pages from etcd instead of failing the kind."""
    whole = watch_cache_list_bytes(*kind_and_api)
    assert len(demo_state(demo)) >= 4  # so that one object's page is well under half the kind
    paged = demo.set_fault("kustomizations?limit=1&continue=", status=200)
    recorder, running = start(
        page_size=1, timeouts=replace(DEFAULT_LIMITS, response_bytes=whole // 2)
    )
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert paged.hits == len(demo_state(demo)) - 1
    assert [s.reason for s in recorder.synced] == [INITIAL]
    assert recorder.synced[0].keys == set(demo_state(demo))
    assert [e.type for e in recorder.events] == [LISTED] * len(demo_state(demo))  # none twice
    assert running.finish().lists == 1


def test_a_watch_cache_list_over_its_own_cap_is_listed_paged_before_it_is_parsed(
    demo: DemoCluster,
    kind_and_api: tuple[Any, ServedKind],
    start: Callable[..., tuple[Recorder, Running]],
) -> None:
    """TIDEWATCH_WATCH_CACHE_LIST_BYTES: a whole-kind answer (resourceVersion=0) is abandoned
    past its own, smaller cap (parsed at once it would be the sync's memory peak), and the
    kind is listed page by page; the response cap itself is untouched."""
    whole = watch_cache_list_bytes(*kind_and_api)
    paged = demo.set_fault("kustomizations?limit=1&continue=", status=200)
    recorder, running = start(page_size=1, cache_list_bytes=whole // 2)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert paged.hits == len(demo_state(demo)) - 1
    assert recorder.synced[0].keys == set(demo_state(demo))
    assert [e.type for e in recorder.events] == [LISTED] * len(demo_state(demo))
    assert running.finish().lists == 1


def test_a_kind_counted_over_the_cap_is_never_asked_of_the_watch_cache_whole(
    demo: DemoCluster,
    kind_and_api: tuple[Any, ServedKind],
    start: Callable[..., tuple[Recorder, Running]],
) -> None:
    """One object and the server's count of the rest tell that the whole-kind answer would be
    over TIDEWATCH_WATCH_CACHE_LIST_BYTES: the kind is listed paged straight away, and the
    server never builds the whole answer only for it to be abandoned."""
    whole_bytes = watch_cache_list_bytes(*kind_and_api)
    whole = demo.set_fault("kustomizations?limit=1&resourceVersion=0&", status=200)
    paged = demo.set_fault("kustomizations?limit=1&continue=", status=200)
    recorder, running = start(page_size=1, cache_list_bytes=whole_bytes // 2)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert whole.hits == 0
    assert paged.hits == len(demo_state(demo)) - 1
    assert recorder.synced[0].keys == set(demo_state(demo))
    assert [e.type for e in recorder.events] == [LISTED] * len(demo_state(demo))
    assert running.finish().lists == 1


def test_a_kind_counted_under_the_cap_is_one_watch_cache_answer(
    demo: DemoCluster,
    kind_and_api: tuple[Any, ServedKind],
    start: Callable[..., tuple[Recorder, Running]],
) -> None:
    whole_bytes = watch_cache_list_bytes(*kind_and_api)
    whole = demo.set_fault("kustomizations?limit=1&resourceVersion=0&", status=200)
    paged = demo.set_fault("kustomizations?limit=1&continue=", status=200)
    recorder, running = start(page_size=1, cache_list_bytes=whole_bytes * 4)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert (whole.hits, paged.hits) == (1, 0)
    assert recorder.synced[0].keys == set(demo_state(demo))
    running.finish()


def test_a_small_watch_cache_list_is_one_answer_under_its_cap(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    paged = demo.set_fault("kustomizations?limit=1&continue=", status=200)
    recorder, running = start(page_size=1, cache_list_bytes=64 * 1024 * 1024)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert paged.hits == 0
    assert recorder.synced[0].keys == set(demo_state(demo))
    running.finish()


def test_an_expired_continue_token_restarts_the_list_once(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    expired = demo.set_fault("continue=", status=410, once=True)
    recorder, running = start(page_size=2, from_watch_cache=False)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    assert expired.hits == 1
    assert recorder.synced[0].keys == set(demo_state(demo))
    assert mirror_state(recorder) == demo_state(demo)
    assert running.finish().lists == 1


def test_a_continue_token_that_never_runs_out_ends_the_list(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    endless = {
        "apiVersion": f"{KUSTOMIZE}/v1",
        "kind": "KustomizationList",
        "metadata": {"resourceVersion": "5", "continue": "more"},
        "items": [],
    }
    caught = demo.set_fault("kustomizations?limit", body=endless)
    recorder, running = start(max_pages=3)
    running.join()
    assert isinstance(running.error, KubeError)
    assert running.error.reason == "TooManyPages"
    assert caught.hits == 3
    assert recorder.synced == []


def test_a_stream_the_server_never_ends_is_closed_by_the_client_deadline(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    # The server ignores timeoutSeconds and keeps the stream alive with bookmarks: only the
    # client's deadline (timeoutSeconds + read margin) ends each watch.
    demo.honour_watch_timeout = False
    demo.bookmark_interval = 0.2
    recorder, running = start(watch_timeout=1, read_margin=0.5)
    recorder.wait_for(lambda: running.informer.state.watches >= 3, "the client to end two watches")
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "a change on a later watch")
    state = running.finish()
    assert state.lists == 1
    assert running.error is None


# --- 410, resync, 403, transient failures ---------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 410}, id="ERROR-event-410"),
        pytest.param(
            {"status": 410, "body": status_body(410, "Expired", "too old resource version: 1 (9)")},
            id="HTTP-410",
        ),
    ],
)
def test_410_relists_consistently_and_the_consumer_gets_a_synced_set(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]], fault: dict[str, Any]
) -> None:
    caught = demo.set_fault("watch=", once=True, **fault)
    # The first watch is told its version has expired: the informer must list again.
    recorder, running = start()
    recorder.wait_for(lambda: len(recorder.synced) >= 2, "the relist")
    assert caught.hits == 1
    assert [s.reason for s in recorder.synced] == [INITIAL, EXPIRED]
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "a change after the relist")
    assert mirror_state(recorder) == demo_state(demo)
    state = running.finish()
    assert (state.lists, state.expired) == (2, 1)


def test_410_in_the_middle_of_a_stream_relists(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    expired = status_body(410, "Expired", "too old resource version: 3 (40)")
    obj = demo.get(KUSTOMIZE, "Kustomization", "flux-system", "tenants")
    assert obj is not None
    stream = (
        b'{"type":"MODIFIED","object":' + _json(obj) + b"}\n"
        b'{"type":"ERROR","object":' + _json(expired) + b"}\n"
    )
    demo.set_fault("watch=", raw_body=stream, once=True)
    recorder, running = start()
    recorder.wait_for(lambda: len(recorder.synced) >= 2, "the relist")
    assert [e.type for e in recorder.events].count(MODIFIED) == 1
    assert [s.reason for s in recorder.synced] == [INITIAL, EXPIRED]
    running.finish()


def test_resync_lists_again_after_resync_seconds_and_only_then(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    clock = FakeClock()
    recorder, running = start(clock=clock, resync_seconds=600)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    clock.now = 599.0
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: len(recorder.watched()) == 1, "the first change")
    assert len(recorder.synced) == 1  # not due yet: the change came by watch alone
    clock.now = 601.0
    # The next thing the informer wakes for (this change) finds the resync due. Whether the
    # change then arrives as a watch event or in the new list is the informer's timing; the
    # consumer's copy must match the cluster either way.
    set_ready(demo, "tenants", "True")
    recorder.wait_for(lambda: len(recorder.synced) == 2, "the resync")
    assert [s.reason for s in recorder.synced] == [INITIAL, RESYNC]
    assert recorder.synced[1].keys == set(demo_state(demo))
    recorder.wait_for(
        lambda: ready_status(recorder.mirror[("flux-system", "tenants")]) == "True",
        "the second change",
    )
    set_ready(demo, "infrastructure", "False")
    recorder.wait_for(
        lambda: ("infrastructure", "False") in recorder.watched(), "a change after the resync"
    )
    assert mirror_state(recorder) == demo_state(demo)
    state = running.finish()
    assert state.lists == 2  # the clock did not move again: no third list


def test_403_on_watch_with_list_allowed_says_fall_back_to_polling(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    demo.set_fault("watch=", status=403)
    recorder, running = start()
    running.join()
    assert isinstance(running.error, WatchUnavailable)
    assert running.error.reason == "WatchForbidden"
    assert "falling back to polling" in str(running.error)
    assert 'cannot watch resource "kustomizations"' in str(running.error)
    # What the list brought is delivered before the refusal.
    assert [s.reason for s in recorder.synced] == [INITIAL]
    assert mirror_state(recorder) == demo_state(demo)


def test_watch_streams_cut_short_every_time_say_fall_back_to_polling(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    # A proxy that ends every long request at once, with a 200 and nothing in it.
    cut = demo.set_fault("watch=", raw_body=b"")
    recorder, running = start(max_failures=3)
    running.join()
    assert isinstance(running.error, WatchUnavailable)
    assert running.error.reason == "WatchCut"
    assert "falling back to polling" in str(running.error)
    assert cut.hits == 3
    assert [s.reason for s in recorder.synced] == [INITIAL]


def test_403_on_list_is_an_error_not_a_fallback(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    demo.set_fault("kustomizations?limit", status=403)
    recorder, running = start()
    running.join()
    assert isinstance(running.error, KubeError)
    assert not isinstance(running.error, WatchUnavailable)
    assert running.error.status == 403
    assert recorder.synced == []


def test_a_transient_watch_failure_rewatches_without_listing(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    caught = demo.set_fault("watch=", status=500, once=True)
    recorder, running = start()
    recorder.wait_for(lambda: recorder.synced, "the first list")
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "the change")
    assert caught.hits == 1
    state = running.finish()
    assert state.lists == 1
    assert state.watches >= 2


def test_repeated_watch_failures_end_the_informer_with_the_reason(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    caught = demo.set_fault("watch=", status=503)
    _, running = start(max_failures=3)
    running.join()
    assert isinstance(running.error, KubeError)
    assert running.error.status == 503
    assert caught.hits == 3


def test_a_relist_ends_a_streak_of_watch_failures(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    """What a real API server does when a CRD is rewritten (an upgrade): watches fail, then a
    410 (its watch cache was rebuilt), then may fail again. A complete list in between means the
    server is answering: the failures before it must not count against the Informer after it."""
    # First match wins, and a spent ``once`` fault matches no more: the watches see these in turn.
    faults = [
        demo.set_fault("watch=", status=500, once=True),
        demo.set_fault("watch=", status=429, once=True),
        demo.set_fault("watch=", status=410, once=True),
        demo.set_fault("watch=", status=503, once=True),
        demo.set_fault("watch=", status=500, once=True),
    ]
    recorder, running = start(max_failures=3)
    recorder.wait_for(lambda: len(recorder.synced) == 2, "the relist after the 410")
    set_ready(demo, "tenants", "False")
    recorder.wait_for(lambda: recorder.watched(), "the change after the failures")
    assert [f.hits for f in faults] == [1] * len(faults)
    assert [s.reason for s in recorder.synced] == [INITIAL, EXPIRED]
    assert running.finish().lists == 2


# --- resume and stop ------------------------------------------------------------------------------


def test_resume_from_a_version_watches_without_listing(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    first, running = start()
    first.wait_for(lambda: first.synced, "the first list")
    saved = running.finish().resource_version
    # While nobody watched: two changes. A restart resumes from the saved version and sees both.
    set_ready(demo, "tenants", "False")
    set_ready(demo, "infrastructure", "False")
    recorder, running = start(resume_from=saved)
    recorder.wait_for(lambda: len(recorder.watched()) == 2, "the changes made while stopped")
    assert recorder.watched() == [("tenants", "False"), ("infrastructure", "False")]
    assert recorder.synced == []
    state = running.finish()
    assert (state.lists, state.resource_version) == (0, str(demo.resource_version))


def test_resume_from_a_compacted_version_relists_and_drops_what_disappeared(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    first, running = start()
    first.wait_for(lambda: first.synced, "the first list")
    saved = running.finish().resource_version
    # While stopped: one object deleted, one changed, and etcd compacted past the saved version.
    demo.delete(KUSTOMIZE, "Kustomization", "flux-system", "platform-certificates")
    set_ready(demo, "tenants", "False")
    demo.compact()
    recorder, running = start(resume_from=saved)
    recorder.mirror = dict(first.mirror)  # what the store kept from before the restart
    recorder.wait_for(lambda: recorder.synced, "the relist")
    assert [s.reason for s in recorder.synced] == [EXPIRED]
    assert ("flux-system", "platform-certificates") not in recorder.synced[0].keys
    assert mirror_state(recorder) == demo_state(demo)
    assert ready_status(recorder.mirror[("flux-system", "tenants")]) == "False"
    running.finish()


def test_stop_interrupts_a_watch_waiting_for_its_next_line(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    # A 300 s watch with no bookmark due: only stop() can end it within the wait bound.
    recorder, running = start(watch_timeout=300)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    state = running.finish()
    assert state.watches == 1


def test_should_stop_is_checked_between_steps(
    demo: DemoCluster, start: Callable[..., tuple[Recorder, Running]]
) -> None:
    recorder = Recorder()
    _, running = start(recorder, should_stop=lambda: bool(recorder.synced))
    running.join()
    assert running.error is None
    assert running.result is not None
    assert running.result.lists == 1


def _json(value: Any) -> bytes:
    return orjson.dumps(value)
