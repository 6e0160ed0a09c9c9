"""The list + watch Informer against a real kube-apiserver (v1.36, etcd 3.4), as the `tidewatch`
user with the shipped ClusterRole: what tests/clusters/test_watch.py checks against the demo
cluster, on the server the demo imitates.

Objects are the reference samples, created by admin, status written through the status
subresource where the CRD has one. Each informer watches one test namespace (the product watches
all of them; a namespace keeps tests apart on a shared server). Every wait is on what the
consumer received or on state read back from the server, with generous bounds; the only timing
the tests use is the server's own ``timeoutSeconds``.

What the real server does that the demo did not (docs/watch.md, "Against a real kube-apiserver"):
watches and ``resourceVersion=0`` lists are served from the watch cache, which keeps its own
history, so compacting etcd does not expire a version the cache still holds; a 410 comes from
etcd only where the cache is not in the way (a second API server with ``--watch-cache=false``
here); bookmarks carry the cache's version of the resource type and come only once the type
moved on past the watch's start, about 2 s before ``timeoutSeconds`` ends (or every minute).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters.collect.argo import ARGO_KINDS
from clusters.collect.discovery import discover
from clusters.collect.flux import FLUX_KINDS
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.watch import (
    ADDED,
    DELETED,
    EXPIRED,
    INITIAL,
    LISTED,
    MODIFIED,
    RESYNC,
    Informer,
    WatchState,
    WatchUnavailable,
    list_query,
    relist_version,
)
from clusters.kube import get_json
from tests.clusters.test_watch import Recorder, Running
from tests.conformance.conftest import (
    PLURALS,
    Namespaces,
    api_client,
    compact_etcd,
    samples_dir,
)

WAIT = 30.0  # generous bounds: a loaded 2-core machine must never fail these on time
# Short server-side watches: the server ends each after this and sends its bookmark ~2 s before.
WATCH_SECONDS = 4

KUSTOMIZATION = next(s for s in FLUX_KINDS if s.kind == "Kustomization")
HELMRELEASE = next(s for s in FLUX_KINDS if s.kind == "HelmRelease")
APPLICATION = next(s for s in ARGO_KINDS if s.kind == "Application")
SAMPLES = {
    KUSTOMIZATION: "flux_kustomization_ready_inventory_dependson.yaml",
    HELMRELEASE: "flux_helmrelease_install_succeeded_ready.yaml",
    APPLICATION: "argocd_application_synced_healthy_with_history.yaml",
}


# --- harness --------------------------------------------------------------------------------------


class Objects:
    """Admin's writes to one kind in one namespace, as the controllers make them."""

    def __init__(self, namespaces: Namespaces, spec: KindSpec, namespace: str) -> None:
        self.namespaces = namespaces
        self.spec = spec
        self.namespace = namespace
        self.custom = namespaces.custom
        self.sample = samples_dir() / SAMPLES[spec]
        sample = yaml.safe_load(self.sample.read_text())
        self.version = sample["apiVersion"].split("/")[1]
        self.sample_name = sample["metadata"]["name"]

    def create(self, name: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.spec is APPLICATION:  # deploys into its own namespace: nothing else to own
            extra["destination"] = {
                "server": "https://kubernetes.default.svc",
                "namespace": self.namespace,
            }
        return self.namespaces.apply_sample(self.sample, self.namespace, name=name, **extra)

    def set_health(self, name: str, healthy: str) -> dict[str, Any]:
        """Flux: the Ready condition through the status subresource. Argo CD: status.health on
        the object itself (its CRD has no status subresource)."""
        if self.spec is APPLICATION:
            status = "Healthy" if healthy == "True" else "Degraded"
            patch = {"status": {"health": {"status": status}}}
            return self.custom.patch_namespaced_custom_object(*self._where(), name, patch)
        ready = {
            "type": "Ready",
            "status": healthy,
            "reason": "ReconciliationSucceeded" if healthy == "True" else "ReconciliationFailed",
            "message": f"Ready is {healthy}",
            "lastTransitionTime": "2026-12-01T12:00:00Z",
            "observedGeneration": 1,
        }
        patch = {"status": {"conditions": [ready]}}
        return self.custom.patch_namespaced_custom_object_status(*self._where(), name, patch)

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(*self._where(), name)

    def server_state(self) -> dict[tuple[str, str], str]:
        """(namespace, name) → resourceVersion, from a consistent list (etcd)."""
        listed = self.custom.list_namespaced_custom_object(*self._where())
        return {
            (o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for o in listed["items"]
        }

    def _plural(self) -> str:
        return PLURALS[self.spec.kind]

    def _where(self) -> tuple[str, str, str, str]:
        return (self.spec.group, self.version, self.namespace, self._plural())


def health_of(obj: dict[str, Any]) -> str:
    """ "True"/"False" as the tests set it: Flux's Ready condition, Argo CD's health."""
    status = obj.get("status") or {}
    if obj.get("kind") == "Application":
        health = (status.get("health") or {}).get("status")
        return {"Healthy": "True", "Degraded": "False"}.get(health, "")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return ""


def mirror_state(recorder: Recorder) -> dict[tuple[str, str], str]:
    with recorder.cond:
        return {k: v["metadata"]["resourceVersion"] for k, v in recorder.mirror.items()}


def watched(recorder: Recorder) -> list[tuple[str, str, str]]:
    """(type, name, health) of every watch event so far, in order."""
    with recorder.cond:
        return [
            (e.type, e.object["metadata"]["name"], health_of(e.object))
            for e in recorder.events
            if e.type != LISTED
        ]


def served(api: k8s.ApiClient, spec: KindSpec) -> ServedKind:
    found, errors = discover(api, [spec])
    assert not errors, errors
    return found[spec]


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[Recorder, Running]]]:
    """Run an Informer in a thread; every one still running is stopped at the end."""
    running: list[Running] = []

    def make(
        api: k8s.ApiClient, spec: KindSpec, namespace: str, **kwargs: Any
    ) -> tuple[Recorder, Running]:
        recorder = kwargs.pop("recorder", None) or Recorder()
        informer = Informer(
            api,
            served(api, spec),
            on_event=recorder.on_event,
            on_synced=recorder.on_synced,
            on_bookmark=recorder.on_bookmark,
            namespace=namespace,
            **{"backoff_seconds": 0.2, **kwargs},
        )
        running.append(Running(informer))
        return recorder, running[-1]

    yield make
    for run in running:
        run.informer.stop()
        run.thread.join(WAIT)


@pytest.fixture
def uncached_tidewatch(uncached_kubeconfig: Path, tidewatch_rbac) -> Iterator[k8s.ApiClient]:
    """The `tidewatch` user on the API server without watch cache (same etcd, same RBAC)."""
    api = api_client(uncached_kubeconfig, "tidewatch")
    try:
        yield api
    finally:
        api.close()


def first_watch_line(
    api: k8s.ApiClient, path: str, version: str, seconds: int = WATCH_SECONDS
) -> tuple[int, dict[str, Any]]:
    """HTTP status and first event of a watch from ``version``, with the Informer's query."""
    query = [
        ("watch", "true"),
        ("resourceVersion", version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", seconds),
    ]
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        path,
        query_params=query,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, _request_timeout=(10, WAIT))
    raw = response.response
    try:
        if response.status != 200:
            return response.status, orjson.loads(raw.read())
        line = raw.readline()  # the server answers at once or ends the stream (timeoutSeconds)
        return response.status, orjson.loads(line) if line.strip() else {}
    finally:
        raw.close()


def wait_for_set(recorder: Recorder, objects: Objects) -> None:
    """The consumer's mirror equals what the server holds (read back from etcd each time)."""
    recorder.wait_for(lambda: mirror_state(recorder) == objects.server_state(), "the server's set")


# --- list, then watch -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [KUSTOMIZATION, HELMRELEASE, APPLICATION], ids=lambda s: s.kind)
def test_list_from_the_watch_cache_then_added_modified_deleted_in_order(
    spec: KindSpec, tidewatch_api, namespaces: Namespaces, start
) -> None:
    namespace = namespaces.create("order")
    objects = Objects(namespaces, spec, namespace)
    first = objects.sample_name
    objects.create(first)
    objects.create(f"{first}-2")  # two objects and pages of one: the list pages (continue)

    recorder, running = start(tidewatch_api, spec, namespace, page_size=1)
    recorder.wait_for(lambda: recorder.synced, "the first list")
    (synced,) = recorder.synced
    assert synced.reason == INITIAL
    # resourceVersion=0 is "whatever the watch cache has": the list may be a moment behind what
    # was just written (the create, or its status write), and the watch from the list's version
    # then delivers the rest. Either way nothing is missing, and nothing arrives twice.
    wait_for_set(recorder, objects)
    for name in (first, f"{first}-2"):
        seen = [e.type for e in recorder.events if e.object["metadata"]["name"] == name]
        assert seen in ([LISTED], [LISTED, MODIFIED], [ADDED, MODIFIED]), (name, seen)
    before = len(watched(recorder))

    added = objects.create(f"{first}-3")
    # A flip and its revert, back to back: two events, in order.
    objects.set_health(first, "False")
    objects.set_health(first, "True")
    objects.delete(f"{first}-2")
    recorder.wait_for(lambda: any(t == DELETED for t, _, _ in watched(recorder)), "the delete")

    assert watched(recorder)[before:] == [
        # Created, then its status written, as a controller does: two events.
        (ADDED, f"{first}-3", ""),
        (MODIFIED, f"{first}-3", health_of(added)),
        (MODIFIED, first, "False"),
        (MODIFIED, first, "True"),
        (DELETED, f"{first}-2", health_of(added)),
    ]
    versions = [int(e.resource_version) for e in recorder.events if e.type != LISTED]
    assert versions == sorted(versions)
    wait_for_set(recorder, objects)
    state = running.finish()
    assert state.lists == 1  # every change came by watch
    assert state.expired == 0


def test_a_bookmark_moves_the_version_on_and_a_resume_from_it_sees_only_later_changes(
    tidewatch_api, namespaces: Namespaces, start
) -> None:
    watched_ns, elsewhere = namespaces.create("quiet"), namespaces.create("busy")
    objects = Objects(namespaces, KUSTOMIZATION, watched_ns)
    name = objects.sample_name
    objects.create(name)
    recorder, running = start(tidewatch_api, KUSTOMIZATION, watched_ns, watch_timeout=WATCH_SECONDS)
    wait_for_set(recorder, objects)
    objects.set_health(name, "False")  # seen as an event: the resumed informer must not replay it
    recorder.wait_for(lambda: watched(recorder), "the change")

    # A Kustomization elsewhere moves the watch cache of the kind on, without an event here: the
    # bookmark (sent ~2 s before each watch's timeoutSeconds) then carries that version.
    other = Objects(namespaces, KUSTOMIZATION, elsewhere).create(name)
    target = int(other["metadata"]["resourceVersion"])
    recorder.wait_for(
        lambda: any(int(v) >= target for v in recorder.bookmarks), "a bookmark past the change"
    )
    state = running.finish()
    assert int(state.resource_version) >= target
    assert state.last_bookmark is not None
    assert [t for t, _, _ in watched(recorder)] == [MODIFIED]  # a bookmark is no event

    changed = objects.set_health(name, "True")
    recorder, running = start(
        tidewatch_api, KUSTOMIZATION, watched_ns, resume_from=state.resource_version
    )
    recorder.wait_for(lambda: watched(recorder), "the change after resuming")
    assert watched(recorder) == [(MODIFIED, name, "True")]
    assert recorder.events[0].resource_version == changed["metadata"]["resourceVersion"]
    assert recorder.synced == []
    assert running.finish().lists == 0


def test_resume_after_a_restart_sees_what_changed_meanwhile_without_a_list(
    tidewatch_api, namespaces: Namespaces, start
) -> None:
    namespace = namespaces.create("resume")
    objects = Objects(namespaces, HELMRELEASE, namespace)
    name = objects.sample_name
    objects.create(name)
    objects.create(f"{name}-2")
    recorder, running = start(tidewatch_api, HELMRELEASE, namespace)
    wait_for_set(recorder, objects)
    stored = running.finish().resource_version  # what the product persists

    # While no informer runs ("restart"): a flip, a new object, a delete.
    objects.set_health(name, "False")
    objects.create(f"{name}-3")
    objects.delete(f"{name}-2")

    resumed = Recorder()
    resumed.mirror = dict(recorder.mirror)  # the store as it was before the restart
    resumed, running = start(
        tidewatch_api, HELMRELEASE, namespace, recorder=resumed, resume_from=stored
    )
    resumed.wait_for(lambda: any(t == DELETED for t, _, _ in watched(resumed)), "the delete")
    assert [(t, n) for t, n, _ in watched(resumed)] == [
        (MODIFIED, name),
        (ADDED, f"{name}-3"),
        (MODIFIED, f"{name}-3"),  # its status, written after the create
        (DELETED, f"{name}-2"),
    ]
    wait_for_set(resumed, objects)
    state = running.finish()
    assert (state.lists, resumed.synced) == (0, [])


# --- 410 Gone -------------------------------------------------------------------------------------


def test_a_compacted_version_is_410_from_etcd_but_served_from_the_watch_cache(
    tidewatch_api, uncached_tidewatch, etcd_url: str, namespaces: Namespaces, start
) -> None:
    """What the real server answers a watch from a version etcd compacted away, with and
    without the watch cache; and an Informer resuming from such a version relists."""
    namespace = namespaces.create("gone")
    objects = Objects(namespaces, KUSTOMIZATION, namespace)
    name = objects.sample_name
    old = objects.create(name)["metadata"]["resourceVersion"]
    changed = objects.set_health(name, "False")
    objects.create(f"{name}-2")
    compacted = compact_etcd(etcd_url)
    assert compacted > int(old) + 1
    path = served(tidewatch_api, KUSTOMIZATION).list_path(namespace)

    # The watch cache (the default, and what up.sh runs) still holds the history: no 410.
    status, event = first_watch_line(tidewatch_api, path, old)
    assert status == 200
    assert (event.get("type"), event["object"]["metadata"]["resourceVersion"]) == (
        MODIFIED,
        changed["metadata"]["resourceVersion"],
    )
    # Straight from etcd: HTTP 200, then one ERROR event with the 410 Status, then the end.
    status, event = first_watch_line(uncached_tidewatch, path, old)
    assert status == 200
    assert event["type"] == "ERROR"
    assert {k: event["object"].get(k) for k in ("code", "reason")} == {
        "code": 410,
        "reason": "Expired",
    }

    # A restart from that version: the Informer relists (consistently, paging) and has the set.
    objects.delete(name)
    recorder, running = start(
        uncached_tidewatch, KUSTOMIZATION, namespace, resume_from=old, page_size=1
    )
    recorder.wait_for(lambda: recorder.synced, "the relist")
    assert [s.reason for s in recorder.synced] == [EXPIRED]
    assert recorder.synced[0].keys == set(objects.server_state())
    wait_for_set(recorder, objects)
    state = running.finish()
    assert (state.expired, state.lists) == (1, 1)


def test_a_running_informer_relists_when_etcd_compacts_past_its_version(
    uncached_tidewatch, etcd_url: str, namespaces: Namespaces, start
) -> None:
    """Watches of a second that rewatch from the last event's version: once etcd compacts past
    it, the next watch is a 410 and the Informer lists again, then watches on."""
    namespace, elsewhere = namespaces.create("compact"), namespaces.create("writes")
    objects = Objects(namespaces, APPLICATION, namespace)
    name = objects.sample_name
    objects.create(name)
    recorder, running = start(uncached_tidewatch, APPLICATION, namespace, watch_timeout=1)
    wait_for_set(recorder, objects)
    objects.set_health(name, "False")
    recorder.wait_for(lambda: watched(recorder), "the change")
    seen = recorder.events[-1].resource_version

    # Writes of another kind move etcd on (no event here), then compaction removes ``seen``:
    # the watch from seen+1 must start below the compacted revision.
    core = k8s.CoreV1Api(namespaces.custom.api_client)
    for _ in range(2):
        made = core.create_namespaced_config_map(elsewhere, {"metadata": {"generateName": "rev-"}})
        # No namespace controller runs here to empty a deleted namespace: delete it ourselves.
        core.delete_namespaced_config_map(made.metadata.name, elsewhere)
    assert compact_etcd(etcd_url) > int(seen) + 1
    recorder.wait_for(lambda: recorder.synced[1:], "the relist after compaction")
    assert [s.reason for s in recorder.synced] == [INITIAL, EXPIRED]

    objects.set_health(name, "True")  # and it watches on from the relist's version
    recorder.wait_for(lambda: len(watched(recorder)) == 2, "the change after the relist")
    assert [h for _, _, h in watched(recorder)] == ["False", "True"]
    wait_for_set(recorder, objects)
    state = running.finish()
    assert state.expired >= 1
    assert state.lists == 2


@contextlib.contextmanager
def crd_names_changed(admin: k8s.ApiClient, spec: KindSpec, path: str) -> Iterator[None]:
    """Rewrite the kind's CRD (a category added to its names, as an upgrade of Flux rewrites
    its CRDs), and put it back after; each time, wait until the kind is served again by a watch
    cache built after the CRD settled, so no other test sees the rebuild."""
    extensions = k8s.ApiextensionsV1Api(admin)
    name = f"{PLURALS[spec.kind]}.{spec.group}"
    before = extensions.read_custom_resource_definition(name).spec.names.categories
    add = [{"op": "add", "path": "/spec/names/categories", "value": [*(before or []), "tw-test"]}]
    restore = (
        [{"op": "replace", "path": "/spec/names/categories", "value": before}]
        if before
        else [{"op": "remove", "path": "/spec/names/categories"}]
    )
    extensions.patch_custom_resource_definition(name, add)
    try:
        wait_until_rebuilt(admin, name, path)
        yield
    finally:
        extensions.patch_custom_resource_definition(name, restore)
        wait_until_rebuilt(admin, name, path)


def wait_until_rebuilt(admin: k8s.ApiClient, crd: str, path: str) -> None:
    """Until the CRD's accepted names match its spec (the naming controller is done) and the
    watch cache serving the kind was built after that: its 410 for an ancient version names
    where its history starts, ``too old resource version: 1 (<start>)``."""
    extensions = k8s.ApiextensionsV1Api(admin)
    pause = threading.Event()
    for _ in range(int(WAIT / 0.2)):
        current = extensions.read_custom_resource_definition(crd)
        if current.status.accepted_names.categories == current.spec.names.categories:
            status, event = first_watch_line(admin, path, "1", seconds=1)
            message = str((event.get("object") or {}).get("message", ""))
            start = re.search(r"too old resource version: 1 \((\d+)\)", message)
            if status == 200 and start and int(start[1]) >= int(current.metadata.resource_version):
                return
        pause.wait(0.2)  # polling the server's state, bounded
    pytest.fail(f"the watch cache of {crd} was not rebuilt within {WAIT} s")


def test_a_crd_rewrite_rebuilds_the_watch_cache_and_the_informer_relists(
    tidewatch_api, admin, namespaces: Namespaces, start
) -> None:
    """The real 410 of a server with its watch cache: a CRD update (a Flux or Argo CD upgrade)
    rebuilds the kind's cache at the current version. Open watches end with nothing in them,
    requests get 429 "storage is (re)initializing" for a moment, then a watch from the old
    version is an ERROR 410 "too old resource version": the Informer relists and goes on."""
    namespace = namespaces.create("upgrade")
    objects = Objects(namespaces, KUSTOMIZATION, namespace)
    name = objects.sample_name
    objects.create(name)
    recorder, running = start(tidewatch_api, KUSTOMIZATION, namespace)
    wait_for_set(recorder, objects)
    path = served(tidewatch_api, KUSTOMIZATION).list_path(namespace)
    with crd_names_changed(admin, KUSTOMIZATION, path):
        recorder.wait_for(lambda: recorder.synced[1:], "the relist")
        objects.set_health(name, "False")
        recorder.wait_for(lambda: watched(recorder), "the change after the relist")
        assert watched(recorder) == [(MODIFIED, name, "False")]
        wait_for_set(recorder, objects)
        state = running.finish()
    reasons = [s.reason for s in recorder.synced]
    assert reasons[0] == INITIAL
    assert set(reasons[1:]) == {EXPIRED}  # once per rebuild the Informer saw
    assert state.expired == len(reasons) - 1


# --- the exact queries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "seen", "pages"),
    [
        # resourceVersion=0 from the watch cache: the server ignores limit, one page holds all.
        (INITIAL, "", 1),
        # resourceVersion=N NotOlderThan: paged, from the cache's snapshots (v1.34+).
        (RESYNC, "seen", 3),
        # consistent (no resourceVersion): paged from etcd.
        (EXPIRED, "seen", 3),
    ],
)
def test_every_list_query_the_informer_sends_is_accepted(
    reason: str, seen: str, pages: int, tidewatch_api, namespaces: Namespaces
) -> None:
    """list_query + relist_version as the Informer uses them, page by page (limit, continue):
    the real server answers each with every object and no 400, paged as noted."""
    namespace = namespaces.create("query")
    objects = Objects(namespaces, KUSTOMIZATION, namespace)
    name = objects.sample_name
    for suffix in ("", "-2", "-3"):
        objects.create(f"{name}{suffix}")
    state = WatchState("k")
    if seen:
        state.resource_version = max(objects.server_state().values(), key=int)
    version = relist_version(state, reason, from_watch_cache=True)
    path = served(tidewatch_api, KUSTOMIZATION).list_path(namespace)
    names, token, got = [], "", 0
    while True:
        page = get_json(
            tidewatch_api, path, list_query(page_size=1, token=token, resource_version=version)
        )
        got += 1
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue") or ""
        if not token:
            break
    assert sorted(names) == sorted(n for _, n in objects.server_state())
    assert got == pages


# --- list allowed, watch not ----------------------------------------------------------------------


@pytest.fixture
def list_only_viewer(admin: k8s.ApiClient, realapi_kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    """The `viewer` user, bound to a ClusterRole that grants get and list but not watch."""
    rbac = k8s.RbacAuthorizationV1Api(admin)
    name = "tidewatch-conformance-list-only"
    role = {
        "metadata": {"name": name},
        "rules": [
            {
                "apiGroups": [KUSTOMIZATION.group],
                "resources": ["kustomizations"],
                "verbs": ["get", "list"],
            },
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]},
        ],
    }
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}],
    }
    rbac.create_cluster_role(role)
    api = api_client(realapi_kubeconfig, "viewer")
    try:
        rbac.create_cluster_role_binding(binding)
        wait_until_allowed(api, "list")
        yield api
    finally:
        api.close()
        for delete in (rbac.delete_cluster_role_binding, rbac.delete_cluster_role):
            with contextlib.suppress(ApiException):
                delete(name)


def wait_until_allowed(api: k8s.ApiClient, verb: str) -> None:
    """Until the authorizer has the new binding (it reads RBAC through its own informers)."""
    review = {
        "spec": {
            "resourceAttributes": {
                "group": KUSTOMIZATION.group,
                "resource": "kustomizations",
                "verb": verb,
            }
        }
    }
    authorization = k8s.AuthorizationV1Api(api)
    done = threading.Event()
    for _ in range(int(WAIT / 0.1)):
        answer = authorization.create_self_subject_access_review(review)
        if answer.status.allowed:
            return
        done.wait(0.1)
    pytest.fail(f"the binding never allowed {verb}")


def test_list_without_watch_delivers_the_list_then_falls_back(
    list_only_viewer, namespaces: Namespaces, start
) -> None:
    namespace = namespaces.create("nowatch")
    objects = Objects(namespaces, KUSTOMIZATION, namespace)
    objects.create(objects.sample_name)
    recorder, running = start(list_only_viewer, KUSTOMIZATION, namespace)
    running.join()
    assert isinstance(running.error, WatchUnavailable), running.error
    assert (running.error.reason, running.error.status) == ("WatchForbidden", 403)
    # The list came first, whole: polling this kind works, and its first poll is already stored.
    assert [s.reason for s in recorder.synced] == [INITIAL]
    assert mirror_state(recorder) == objects.server_state()
    listed = get_json(
        list_only_viewer, served(list_only_viewer, KUSTOMIZATION).list_path(namespace)
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == [objects.sample_name]
