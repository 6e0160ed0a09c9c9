"""watch_cluster: one cluster's list/watch/resync loop, the watch-mode twin of poll_cluster.

    discovery → one Informer per GitOps kind (its own thread, its own ApiClient)
              → a bounded queue → ONE applier (the caller's thread) → store + roll-ups
                                                  └→ derive thread → ownership report

Informer threads only do network I/O and push what they read into the queue; the caller's
thread drains it in order and writes each batch, with the roll-ups of the namespaces it
touched, in one short transaction: the store and the overview rows never disagree, and no
transaction is open across a network request. The whole-cluster ownership analysis (seconds
on a big cluster) runs on a derive thread with its own connection, behind the store by a few
seconds: it reads, computes, then writes only the report and violations in one short
transaction, and hands the namespaces whose ownership changed back to the applier, which
alone writes roll-ups and the crash mark (``derived_dirty``). Namespaces, controller
workloads, monitors and Events are watched too (clusters/collect/supporting_watch.py): the
applier stores a snapshot of them after a change, through the poll's store functions.
Discovery runs again every TIDEWATCH_DISCOVERY_SECONDS, so a CRD installed or removed while
watching starts or stops its kind's informer.

A Celery task runs this under the cluster's lease: ``stop`` is the lease's ``lost`` event and
``max_seconds`` bounds one task; the outcome says whether the cluster must be polled instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from kubernetes import client as k8s

from clusters.collect.discovery import discover
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.lastwriter import due_last_writers, read_last_writers, store_last_writers
from clusters.collect.snapshot import (
    ERROR,
    GITOPS_KINDS,
    NOT_INSTALLED,
    SUPPORTING_KINDS,
    KindResult,
    Snapshot,
)
from clusters.collect.supporting_watch import SupportingKnobs, SupportingWatch, fingerprint
from clusters.collect.watch import (
    DELETED,
    LISTED,
    Informer,
    Synced,
    WatchEvent,
    WatchUnavailable,
)
from clusters.kube import KubeError, Limits, build_api_client
from clusters.memory import limit_arenas, release_free_memory
from clusters.models import Cluster, KindState, Namespace, ObjectTarget, OwnershipReport
from clusters.poll import derived_inputs, poll_limits
from clusters.registry import spec_of
from clusters.status.workload_pods import metrics_by_pod
from clusters.store.objects import (
    WatchedKind,
    mark_cluster_unreachable,
    mark_kind_failed,
    resume_versions,
    store_kind,
    store_namespaces,
)
from clusters.store.ownership import (
    analyse_ownership,
    namespace_entries,
    namespace_ownership,
    save_ownership,
)
from clusters.store.ownership_child import ChildFailed, OwnershipChild
from clusters.store.rollups import rebuild_rollups
from clusters.store.supporting import (
    store_controller_pods,
    store_deprecated_apis,
    store_events,
    store_monitors,
    store_workloads,
)
from clusters.store.version import bump, one_move, writing

log = logging.getLogger(__name__)

# How a watch_cluster call ended.
STOPPED = "stopped"  # ``stop`` was set (shutdown, or the lease was lost)
DEADLINE = "deadline"  # ``max_seconds`` ran out: run it again to go on watching
FELL_BACK = "fell_back"  # watch is not possible here: poll the cluster (Cluster.sync_mode)
FAILED = "failed"  # the cluster could not be asked at all (discovery failed): try again later

# Queue items: what happened, for which kind. A _PAGE is one list page's LISTED events.
_EVENT, _PAGE, _SYNCED, _BOOKMARK, _FAILED, _UNAVAILABLE, _SUPPORTING, _RESUMED = (
    "event",
    "page",
    "synced",
    "bookmark",
    "failed",
    "unavailable",
    "supporting",
    "resumed",
)
_DISCOVERED, _LAST_WRITERS = "discovered", "last_writers"


@dataclass
class WatchOutcome:
    """What one watch_cluster call did; ``mode`` is what the cluster should do next."""

    cluster: str
    mode: str  # Cluster.WATCH or Cluster.POLL
    ended: str  # STOPPED, DEADLINE, FELL_BACK or FAILED
    reason: str = ""
    message: str = ""
    events: int = 0  # watch events handled (ADDED / MODIFIED / DELETED)
    lists: int = 0  # complete lists (initial, 410 relists, resyncs)
    written: int = 0  # object rows written
    deleted: int = 0
    derives: int = 0  # ownership analyses (on the derive thread)
    derive_seconds: list[float] = field(default_factory=list)  # the time of each analysis
    derive_failures: int = 0  # analyses that raised, or whose child process died
    derive_peak_rss_mb: float = 0.0  # the ownership child process's peak RSS (0: no child)
    # From a change stored to the ownership report that covers it, per analysis.
    derive_lag_seconds: list[float] = field(default_factory=list)
    rollups_whole: int = 0  # whole-cluster roll-up rebuilds (first lists, resyncs, recovery)
    rollups_scoped: int = 0  # roll-ups of the namespaces a batch touched


@dataclass(frozen=True)
class _Item:
    kind: str  # KindSpec.key, or "" for the supporting lists
    what: str
    payload: Any = None


class _WeightedQueue:
    """A FIFO bounded by what it holds (objects), not by its items: a list page of 500 objects
    weighs 500, a watch event 1. An item heavier than the whole bound still goes in alone."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.weight = 0
        self.items: deque[tuple[_Item, int]] = deque()
        self.changed = threading.Condition()

    def put(self, item: _Item, weight: int, timeout: float) -> bool:
        """Add ``item``; False if there was no room for ``timeout`` seconds."""
        with self.changed:
            if not self.changed.wait_for(
                lambda: not self.items or self.weight + weight <= self.capacity, timeout
            ):
                return False
            self.items.append((item, weight))
            self.weight += weight
            self.changed.notify_all()
            return True

    def get(self, timeout: float) -> tuple[_Item, int] | None:
        """The oldest item and its weight, or None if nothing came for ``timeout`` seconds."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.items, max(timeout, 0.0)):
                return None
            item, weight = self.items.popleft()
            self.weight -= weight
            self.changed.notify_all()
            return item, weight


class _Stopped(Exception):
    """Raised inside an informer's callback when the watch is ending: unwinds its run()."""


@dataclass(frozen=True)
class WatchSettings:
    """The knobs of a watch, from the settings unless a caller (a test) passes its own."""

    resync_seconds: float
    watch_seconds: int
    support_seconds: float
    retry_seconds: float  # a kind whose list failed is tried again after this long
    heartbeat_seconds: float  # how often the cluster's "last good" time moves on while live
    discovery_seconds: float = 60.0  # discovery again: CRDs installed or removed meanwhile
    support_debounce_seconds: float = 0.5  # a supporting change waits this long for company
    metrics_seconds: float = 60.0  # the controllers' PodMetrics are re-read this often
    last_writer_seconds: float = 30.0  # contested resources' last writers read this often
    batch_size: int = 1000  # events per transaction, as a poll's chunk (a list page is not split)
    batch_seconds: float = 0.1  # how long a batch waits for more events that arrive together
    derive_seconds: float = 1.0  # an ownership analysis starts at most this often
    # The analysis runs in a child process (clusters/store/ownership_child.py), else on a thread.
    derive_in_child: bool = True
    queue_size: int = 2000  # objects between the informers and the applier (bounds memory)
    # Kinds listed at once (each with one page read ahead): bounds the memory of a first sync
    # at (queue_size + 2 pages × list_slots) objects, and keeps 16 informers from taking
    # turns at the GIL while one applier is what sets the pace.
    list_slots: int = 2

    @classmethod
    def for_cluster(cls, cluster: Cluster, **overrides: Any) -> WatchSettings:
        values: dict[str, Any] = {
            "resync_seconds": float(settings.TIDEWATCH_RESYNC_SECONDS),
            "watch_seconds": int(settings.TIDEWATCH_WATCH_SECONDS),
            "support_seconds": float(settings.TIDEWATCH_SUPPORT_SECONDS),
            "retry_seconds": float(cluster.poll_interval),
            "heartbeat_seconds": float(min(cluster.poll_interval, 10)),
            "discovery_seconds": float(settings.TIDEWATCH_DISCOVERY_SECONDS),
            "metrics_seconds": float(settings.TIDEWATCH_METRICS_SECONDS),
            # As often as a poll reads them (each resource at most every 5 minutes).
            "last_writer_seconds": float(cluster.poll_interval),
            "list_slots": int(settings.TIDEWATCH_WATCH_LIST_SLOTS),
            "derive_in_child": bool(settings.TIDEWATCH_OWNERSHIP_CHILD),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class _Handover:
    """An ownership analysis saved by the derive thread, for the applier."""

    generation: int  # the batches committed before the analysis read the store
    namespaces: set[str]  # whose ownership entry changed: their roll-ups show it


def _changed_keys(events: list[WatchEvent], existing: dict[Any, tuple[int, str]]) -> set[Any]:
    """(namespace, name) of the objects these events write or delete; an event of the stored
    resourceVersion (a replay) writes nothing."""
    keys = set()
    for event in events:
        meta = event.object.get("metadata") if isinstance(event.object, dict) else None
        if not isinstance(meta, dict):
            continue
        key = (meta.get("namespace") or "", meta.get("name") or "")
        if not isinstance(key[0], str) or not isinstance(key[1], str):
            continue
        row = existing.get(key)
        if event.type != DELETED and row is not None and row[1] == meta.get("resourceVersion"):
            continue
        keys.add(key)
    return keys


def _target_namespaces(object_ids: list[int]) -> set[str]:
    if not object_ids:
        return set()
    return set(
        ObjectTarget.objects.filter(obj_id__in=object_ids)
        .values_list("namespace", flat=True)
        .distinct()
    )


def watch_cluster(
    cluster: Cluster,
    *,
    stop: threading.Event,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_batch: Callable[[], None] | None = None,
    **overrides: Any,
) -> WatchOutcome:
    """Keep ``cluster`` current by list + watch until ``stop`` is set or ``max_seconds`` pass.

    Returns how it ended; never raises for a cluster-side problem (it is recorded on the kinds
    and the cluster, as a poll records it). ``clock`` decides when resyncs are due (a test moves
    it); ``on_batch`` is called after each turn of the applier (at least every 0.2 s, after
    what it wrote and derived is committed: tests wait on it); ``overrides``
    replace WatchSettings fields.
    """
    knobs = WatchSettings.for_cluster(cluster, **overrides)
    return _Watch(cluster, stop, knobs, clock, on_batch).run(max_seconds)


class _Watch:
    def __init__(
        self,
        cluster: Cluster,
        stop: threading.Event,
        knobs: WatchSettings,
        clock: Callable[[], float],
        on_batch: Callable[[], None] | None,
    ) -> None:
        self.cluster = cluster
        self.stop = stop
        self.knobs = knobs
        self.clock = clock
        self.on_batch = on_batch
        self.outcome = WatchOutcome(cluster.name, Cluster.WATCH, STOPPED)
        self.queue = _WeightedQueue(knobs.queue_size)
        self.list_slots = threading.BoundedSemaphore(max(1, knobs.list_slots))
        self.ending = threading.Event()  # set once: every thread of this watch winds down
        self.threads: list[threading.Thread] = []
        self.informers: dict[str, Informer] = {}
        self.informers_lock = threading.Lock()
        self.kinds: dict[str, WatchedKind] = {}
        self.specs: dict[str, KindSpec] = {}
        self.served: dict[KindSpec, ServedKind] = {}
        self.discovery_errors: dict[KindSpec, KubeError] = {}
        self.waiting_first_list: set[str] = set()
        self.failed: dict[str, KubeError] = {}
        self.positions: dict[str, str] = {}  # versions handled but not yet saved
        # Kinds with objects: the supporting thread asks for their Events (read under the lock).
        self.event_kinds: set[str] = set()
        self.event_kinds_lock = threading.Lock()
        self.initial_done = threading.Event()
        # Derived data waits for the first supporting lists too: without the controller
        # workloads, ownership would report "workloads were not collected" for a moment.
        self.supporting_stored = False
        self.gc_paused = False  # whether run() paused the cyclic collector for the first lists
        # The crash mark as the applier last wrote it, and whether this watch found it set.
        self.dirty = False
        self.was_dirty = False
        # Roll-ups: the whole rebuild is due (a start, first lists, relists, a failed kind),
        # or else the namespaces touched since they were last written (before both are stored).
        self.rollups_whole = True
        self.touched: set[str] = set()
        # Batches that began writing / were committed. The derive thread notes ``committed``
        # before it reads the store; the crash mark is cleared once the analysis that noted
        # it is handed back and no batch began since.
        self.begun = 0
        self.committed = 0
        self.uncovered_since: float | None = None  # the first commit no analysis has read yet
        self.derive_wanted = threading.Event()
        # Set once the whole roll-up rebuild after the first lists and supporting lists is
        # committed: an analysis before would miss the controller workloads.
        self.derivable = False
        self.handover_lock = threading.Lock()  # committed, uncovered_since, handover
        self.handover: _Handover | None = None
        # The derive thread's own.
        self.force_analysis = False
        self.last_inputs: tuple[object, ...] = ()
        self.last_derive = float("-inf")
        self.last_derive_took = 0.0
        self.owners: dict[str, dict[str, Any]] | None = None  # of the last report saved
        self.derive_failed = 0  # analyses failed in a row: the retry waits longer each time
        self.child = OwnershipChild(cluster.name)
        self.last_heartbeat = float("-inf")
        self.server = ""
        self.supporting: SupportingWatch | None = None
        self.support_note = ""  # what the card says about supporting lists re-listed
        self.support_prints: dict[str, tuple[object, ...]] = {}  # what was stored last, per list
        self.writers_read: dict[str, dict[str, object]] = {}  # last writers, as read last
        self.kind_stops: dict[str, threading.Event] = {}  # set: that kind's informer ends

    # --- the caller's thread: set up, apply, derive ----------------------------------------------

    def run(self, max_seconds: float | None) -> WatchOutcome:
        started = time.monotonic()
        if self.cluster.config_error:
            return self._failed("ConfigInvalid", self.cluster.config_error)
        try:
            api = self._api()
        except KubeError as exc:
            return self._failed(exc.reason, exc.message)
        limits = poll_limits(time.monotonic())
        try:
            self.served, self.discovery_errors = discover(
                api, (*GITOPS_KINDS, *SUPPORTING_KINDS), limits
            )
        except KubeError as exc:
            return self._failed(exc.reason, exc.message)
        finally:
            api.close()
        store_deprecated_apis(self.cluster, self.served, self.discovery_errors)
        self.server = str(api.configuration.host)
        Cluster.objects.filter(pk=self.cluster.pk).update(
            last_poll_started_at=timezone.now(), server=str(api.configuration.host)[:500]
        )
        self.was_dirty = bool(
            Cluster.objects.filter(pk=self.cluster.pk)
            .values_list("derived_dirty", flat=True)
            .first()
        )
        # An earlier poll or watcher died between writing and deriving: analyse once even if
        # nothing changes now (the roll-ups are rebuilt whole at every start).
        self.dirty = self.force_analysis = self.was_dirty
        self.last_inputs = derived_inputs(self.cluster)
        self.derive_wanted.set()  # once ready: anything changed while nobody watched?
        # The first lists parse and store every object: paused as a poll pauses it
        # (clusters/poll.py _gc_paused), the cyclic collector would re-walk an ever larger heap
        # at each parsed page. Reference counting still frees everything; it runs again once
        # every kind is listed (or when this call ends), for the hours of watching after.
        self.gc_paused = gc.isenabled()
        gc.disable()
        # Before the informer threads start: they share a few malloc arenas (clusters/memory.py).
        limit_arenas(int(settings.TIDEWATCH_MALLOC_ARENAS))
        try:
            self._start_kinds()
            self._start_thread(self._supporting, "supporting")
            self._start_thread(self._rediscover, "discovery")
            self._start_thread(self._last_writers, "last-writers")
            self._start_thread(self._deriver, "derive")
            self._apply_until(started, max_seconds)
        finally:
            self._resume_gc()
            self._end()
        return self.outcome

    def _resume_gc(self) -> None:
        if self.gc_paused:
            self.gc_paused = False
            gc.enable()

    def _start_kinds(self) -> None:
        now = timezone.now()
        resumable = resume_versions(self.cluster)
        for spec in GITOPS_KINDS:
            if spec in self.discovery_errors:
                result = KindResult(spec, ERROR, error=self.discovery_errors[spec])
                mark_kind_failed(self.cluster, result, now)
                self.failed[spec.key] = self.discovery_errors[spec]
                continue
            served = self.served.get(spec)
            if served is None:
                store_kind(self.cluster, KindResult(spec, NOT_INSTALLED), now)
                continue
            self.specs[spec.key] = spec
            self.kinds[spec.key] = WatchedKind(self.cluster, spec, served.version)
            if self.kinds[spec.key].existing:
                self.event_kinds.add(spec.kind)
            resume_from = resumable.get((spec.group, spec.kind, served.version), "")
            if not resume_from:
                self.waiting_first_list.add(spec.key)
            self._start_thread(lambda s=served, r=resume_from: self._informer(s, r), spec.key)
        if not self.waiting_first_list:
            self._first_lists_done()

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(
            target=target, name=f"watch-{self.cluster.name}-{name}", daemon=True
        )
        self.threads.append(thread)
        thread.start()

    def _apply_until(self, started: float, max_seconds: float | None) -> None:
        while not self.stop.is_set() and not self.ending.is_set():
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                self.outcome.ended = DEADLINE
                self._take_handover()  # an analysis already done may still clear the mark
                return
            batch = self._next_batch()
            if batch:
                self._apply(batch)
            if self.ending.is_set():
                return  # fell back: the cluster is polled from now on
            self._take_handover()
            self._heartbeat()
            if self.on_batch is not None:
                self.on_batch()
        self.outcome.ended = STOPPED if self.outcome.ended != FELL_BACK else FELL_BACK

    def _next_batch(self) -> list[_Item]:
        """What arrived together: items of up to about batch_size events (a list page counts
        its objects), waiting batch_seconds for more."""
        got = self.queue.get(timeout=0.2)
        if got is None:
            return []
        batch, weight = [got[0]], got[1]
        until = time.monotonic() + self.knobs.batch_seconds
        while weight < self.knobs.batch_size:
            got = self.queue.get(timeout=until - time.monotonic())
            if got is None:
                break
            batch.append(got[0])
            weight += got[1]
        return batch

    def _apply(self, batch: list[_Item]) -> None:
        now = timezone.now()
        writes = any(item.what not in (_BOOKMARK, _RESUMED) for item in batch)
        if writes:
            if not self.dirty:
                # Committed on its own before anything is written: a watcher killed before
                # the next analysis leaves the mark, and the next one (or a poll) rebuilds.
                Cluster.objects.filter(pk=self.cluster.pk).update(derived_dirty=True)
                self.dirty = True
            self.begun += 1
        # One step of the store version for the whole batch (its objects, transitions and
        # roll-ups each bump): every open page fingerprints once per step.
        with one_move():
            run: list[WatchEvent] = []
            for index, item in enumerate(batch):
                if item.kind and item.kind not in self.kinds:
                    continue  # its CRD went (discovery): what its informer sent last is moot
                if item.what in (_EVENT, _PAGE):
                    # Consecutive events of one kind are written together, in order.
                    (run.extend if item.what == _PAGE else run.append)(item.payload)
                    following = batch[index + 1] if index + 1 < len(batch) else None
                    if (
                        following is None
                        or following.what not in (_EVENT, _PAGE)
                        or following.kind != item.kind
                    ):
                        self._events(item.kind, run, now)
                        run = []
                    continue
                self._other(item, now)
                if self.ending.is_set():
                    break  # fell back: what follows is for the poll to find
            for key, version in self.positions.items():
                self.kinds[key].save_position(version)
            self.positions.clear()
            if writes:
                self._update_rollups()
        if not self.initial_done.is_set() and any(item.what == _PAGE for item in batch):
            # The pages just stored are freed: hand their heap back before the next ones are
            # parsed, or a first sync's RSS climbs with every page (the Python heap does not).
            release_free_memory()
        if writes:
            with self.handover_lock:
                self.committed = self.begun
                if self.uncovered_since is None:
                    self.uncovered_since = time.monotonic()
            self.derivable = self.derivable or not self.rollups_whole
            self.derive_wanted.set()

    def _update_rollups(self) -> None:
        """The overview rows of what this batch touched, in its transaction (the whole
        rebuild when due), once the first lists and supporting lists are stored."""
        if not self.initial_done.is_set() or not self.supporting_stored:
            return
        if self.rollups_whole:
            rebuild_rollups(self.cluster)
            self.outcome.rollups_whole += 1
        elif self.touched:
            rebuild_rollups(self.cluster, self.touched)
            self.outcome.rollups_scoped += 1
        self.rollups_whole = False
        self.touched = set()

    def _events(self, key: str, events: list[WatchEvent], now: Any) -> None:
        kind = self.kinds[key]
        if any(e.type == LISTED for e in events):
            self.rollups_whole = True  # a list: most namespaces change, if any
        scoped = not self.rollups_whole
        if scoped:
            changed = _changed_keys(events, kind.existing)
            # The namespaces each object lives in and deploys into, before and after.
            self.touched.update(namespace for namespace, _ in changed)
            before = [kind.existing[k][0] for k in changed if k in kind.existing]
            self.touched.update(_target_namespaces(before))
        counts = kind.apply(events, now)
        if scoped:
            after = [kind.existing[k][0] for k in changed if k in kind.existing]
            self.touched.update(_target_namespaces(after))
        self.outcome.written += counts.written
        self.outcome.deleted += counts.deleted
        watched = [e for e in events if e.type != LISTED]
        self.outcome.events += len(watched)
        if watched and watched[-1].resource_version:
            self.positions[key] = watched[-1].resource_version
        if counts.written and self.specs[key].kind not in self.event_kinds:
            with self.event_kinds_lock:
                self.event_kinds.add(self.specs[key].kind)
        if any(e.type == DELETED for e in watched) and not self.kinds[key].existing:
            with self.event_kinds_lock:
                self.event_kinds.discard(self.specs[key].kind)

    def _other(self, item: _Item, now: Any) -> None:
        if item.what == _SYNCED:
            synced: Synced = item.payload
            self.outcome.deleted += self.kinds[item.kind].synced(
                synced.keys, synced.resource_version, now
            )
            self.outcome.lists += 1
            self.rollups_whole = True
            self.positions.pop(item.kind, None)
            self.failed.pop(item.kind, None)
            with self.event_kinds_lock:
                (self.event_kinds.add if synced.keys else self.event_kinds.discard)(
                    self.specs[item.kind].kind
                )
            self._listed(item.kind)
        elif item.what == _BOOKMARK:
            if item.payload:
                self.positions[item.kind] = item.payload
        elif item.what == _RESUMED:
            self.failed.pop(item.kind, None)
        elif item.what == _FAILED:
            error: KubeError = item.payload
            spec = self.specs[item.kind]
            log.warning("cluster %s: %s: %s", self.cluster.name, spec.key, error.message)
            mark_kind_failed(self.cluster, KindResult(spec, ERROR, error=error), now)
            self.failed[item.kind] = error
            self.rollups_whole = True  # every namespace with its objects says it is stale
            self._listed(item.kind)
        elif item.what == _UNAVAILABLE:
            self._fall_back(item.kind, item.payload)
        elif item.what == _SUPPORTING:
            self._store_supporting(item.payload, now)
        elif item.what == _DISCOVERED:
            self._discovered(*item.payload, now)
        elif item.what == _LAST_WRITERS and item.payload:
            # Object pages show the last writer: the version moves when one changed, not with
            # every re-read of the same answer (its checked_at is stored, no page shows it).
            changed = any(self.writers_read.get(k) != v for k, v in item.payload.items())
            self.writers_read.update(item.payload)
            with transaction.atomic():
                store_last_writers(self.cluster, item.payload, now)
                if changed:
                    bump()

    def _listed(self, key: str) -> None:
        self.waiting_first_list.discard(key)
        if not self.waiting_first_list and not self.initial_done.is_set():
            self._first_lists_done()

    def _first_lists_done(self) -> None:
        """Every kind has been listed once (or failed, or resumed): the store is current."""
        self.initial_done.set()
        self._resume_gc()
        if self.outcome.ended == FELL_BACK:
            return
        with writing():  # the card says "Live (watching)"
            Cluster.objects.filter(pk=self.cluster.pk).update(
                sync_mode=Cluster.WATCH, sync_mode_reason=""
            )

    def _store_supporting(self, snapshot: Snapshot | None, now: Any) -> None:
        self.supporting_stored = True
        if snapshot is None:
            return  # the supporting thread could not start: derive from what is stored
        # A kind whose list failed keeps its objects' Events, as in a poll.
        keep = {self.specs[key].kind for key in self.failed if key in self.specs}
        # Each snapshot holds every supporting list, but a change is usually in one of them
        # (an Event): only the lists that changed since the last snapshot are stored again.
        if self._changed("namespaces", snapshot.namespaces):
            before = set(
                Namespace.objects.filter(cluster=self.cluster).values_list("name", flat=True)
            )
            store_namespaces(self.cluster, snapshot.namespaces, now)
            if not self.rollups_whole:  # a namespace created or deleted: its row says so
                after = Namespace.objects.filter(cluster=self.cluster).values_list(
                    "name", flat=True
                )
                self.touched.update(before.symmetric_difference(after))
        workloads_changed = False
        for result in snapshot.workloads:
            if self._changed(result.spec.key, result):
                store_workloads(self.cluster, [result], now)
                workloads_changed = True
        # PodMetrics carry no resourceVersion: their usage is what tells a new reading.
        pods_changed = self._changed("pods", snapshot.pods)
        usage = (
            tuple(sorted(metrics_by_pod(snapshot.metrics.items).items()))
            if snapshot.metrics
            else ()
        )
        metrics_changed = self._changed("metrics", snapshot.metrics, usage)
        if workloads_changed or pods_changed or metrics_changed:
            store_controller_pods(self.cluster, snapshot.pods, snapshot.metrics, now)
        for result in snapshot.monitors:
            if self._changed(result.spec.key, result):
                store_monitors(self.cluster, [result], now)
        if self._changed("events", snapshot.events, tuple(sorted(keep))):
            store_events(self.cluster, snapshot.events, now, keep_kinds=keep)
        note = "; ".join(snapshot.polled[name] for name in sorted(snapshot.polled))
        if note != self.support_note:
            # The card's "Live (watching)" says which lists are re-listed instead (RBAC).
            self.support_note = note
            with writing():
                Cluster.objects.filter(pk=self.cluster.pk, sync_mode=Cluster.WATCH).update(
                    sync_mode_reason=note[:2000]
                )

    def _changed(self, name: str, result: KindResult | None, *extra: object) -> bool:
        printed = (fingerprint(result), *extra)
        if self.support_prints.get(name) == printed:
            return False
        self.support_prints[name] = printed
        return True

    def _fall_back(self, key: str, error: WatchUnavailable) -> None:
        kind = self.specs[key].kind
        if error.reason == "WatchForbidden":
            reason = f"watch not allowed ({error.status or 403} Forbidden on {kind})"
        else:
            reason = f"watch streams were cut short ({kind}; a proxy that ends long requests?)"
        log.warning("cluster %s: %s; polling instead", self.cluster.name, error.message)
        with writing():  # the card says why it polls now
            Cluster.objects.filter(pk=self.cluster.pk).update(
                sync_mode=Cluster.POLL, sync_mode_reason=reason[:2000]
            )
        # Polls write from now on: a later watch must list, not replay from an old position.
        KindState.objects.filter(cluster=self.cluster).update(resource_version="")
        self.outcome.mode, self.outcome.ended = Cluster.POLL, FELL_BACK
        self.outcome.reason, self.outcome.message = error.reason, reason
        self.ending.set()

    def _discovered(
        self,
        served: dict[KindSpec, ServedKind],
        errors: dict[KindSpec, KubeError],
        now: Any,
    ) -> None:
        """Discovery ran again: start watching GitOps kinds whose CRD appeared, stop those whose
        CRD went (NOT_INSTALLED, or NotServed while objects are stored, as a poll records it).
        A kind discovery could not ask about this time stays as it is."""
        for spec in GITOPS_KINDS:
            if spec in errors:
                continue
            key, after = spec.key, served.get(spec)
            watching = key in self.kinds
            if watching and self.served.get(spec) == after:
                continue
            if not watching and after is None and key not in self.failed:
                continue  # still not installed
            if watching:
                self._stop_kind(key)
            self.failed.pop(key, None)
            if after is None:
                log.info("cluster %s: %s is no longer served", self.cluster.name, key)
                store_kind(self.cluster, KindResult(spec, NOT_INSTALLED), now)
                self.rollups_whole = True  # its objects left their namespaces' rows
            else:
                log.info("cluster %s: %s is served now: watching it", self.cluster.name, key)
                self._add_kind(spec, after)
        kept = {spec: kind for spec, kind in self.served.items() if spec in errors}
        self.served, self.discovery_errors = {**kept, **served}, dict(errors)
        store_deprecated_apis(self.cluster, served, errors)
        if self.supporting is not None:
            self.supporting.set_served(self.served, self.discovery_errors)

    def _add_kind(self, spec: KindSpec, served: ServedKind) -> None:
        key = spec.key
        self.specs[key] = spec
        self.kinds[key] = WatchedKind(self.cluster, spec, served.version)
        if self.kinds[key].existing:
            with self.event_kinds_lock:
                self.event_kinds.add(spec.kind)
        if not self.initial_done.is_set():
            self.waiting_first_list.add(key)
        self.kind_stops[key] = threading.Event()
        self._start_thread(lambda s=served: self._informer(s, ""), key)

    def _stop_kind(self, key: str) -> None:
        self.kind_stops.pop(key, threading.Event()).set()
        with self.informers_lock:
            informer = self.informers.pop(key, None)
        if informer is not None:
            informer.stop()
        spec = self.specs.pop(key)
        del self.kinds[key]
        self.failed.pop(key, None)
        self.positions.pop(key, None)
        self._listed(key)  # nothing to wait for any more
        with self.event_kinds_lock:
            self.event_kinds.discard(spec.kind)

    def _take_handover(self) -> None:
        """An analysis the derive thread saved: the roll-ups of the namespaces whose ownership
        changed, then the crash mark cleared if no batch began after that analysis read."""
        with self.handover_lock:
            handed, self.handover = self.handover, None
        if handed is None:
            return
        if handed.namespaces:
            rebuild_rollups(self.cluster, handed.namespaces)
            self.outcome.rollups_scoped += 1
        if (
            self.dirty
            and handed.generation == self.begun
            and not self.rollups_whole
            and not self.touched
        ):
            Cluster.objects.filter(pk=self.cluster.pk).update(derived_dirty=False)
            self.dirty = self.was_dirty = False

    # --- the derive thread: ownership, off the applier's path ------------------------------------

    def _deriver(self) -> None:
        """Analyse ownership after batches were written: at most every derive_seconds (and
        at most a third of the time: the pause is at least twice the last analysis), only
        when derived_inputs changed, not before every kind's first list and the first
        supporting lists are stored (ownership would say "workloads were not collected").
        A failed analysis (it raised, or its child process died) is tried again after a pause
        that doubles with each failure in a row; the crash mark stays until one succeeds."""
        try:
            while not self.ending.is_set():
                if not self.derive_wanted.wait(0.2):
                    continue
                if not self.derivable:
                    self.ending.wait(0.1)
                    continue
                # On a thread, an analysis holds the GIL the applier needs (a batch takes ~3×
                # as long meanwhile): at most a third of the time, so most batches run at full
                # speed. In a child process it holds a core of two.
                pause = max(self.knobs.derive_seconds, 2 * self.last_derive_took)
                pause *= 2 ** min(self.derive_failed, 5)
                left = self.last_derive + pause - time.monotonic()
                if left > 0 and self.ending.wait(left):
                    return
                self.derive_wanted.clear()
                try:
                    self._derive_once()
                    self.derive_failed = 0
                except Exception as exc:
                    if self.ending.is_set() or self.stop.is_set():
                        return  # ended meanwhile: not a failure of the analysis
                    self.derive_failed += 1
                    self.outcome.derive_failures += 1
                    self.force_analysis = True  # whether or not anything changes meanwhile
                    self.derive_wanted.set()
                    if isinstance(exc, ChildFailed):
                        log.error(
                            "cluster %s: ownership analysis failed, tried again later: %s",
                            self.cluster.name,
                            exc,
                        )
                    else:
                        log.exception(
                            "cluster %s: ownership analysis failed, tried again later",
                            self.cluster.name,
                        )
                self.last_derive = time.monotonic()
        finally:
            self.child.stop()
            connections.close_all()  # this thread's own connection

    def _derive_once(self) -> None:
        with self.handover_lock:
            generation, since = self.committed, self.uncovered_since
            self.uncovered_since = None
        namespaces: set[str] = set()
        inputs = derived_inputs(self.cluster)
        if (
            self.force_analysis
            or inputs != self.last_inputs
            or not OwnershipReport.objects.filter(cluster=self.cluster).exists()
        ):
            began = time.perf_counter()
            try:
                if self.knobs.derive_in_child:
                    changed = self._analyse_in_child()
                else:
                    changed = self._analyse_here()
            except Exception:
                with self.handover_lock:  # still not covered: the next analysis says its lag
                    if since is not None:
                        self.uncovered_since = min(since, self.uncovered_since or since)
                raise
            if changed is None:
                return  # shutting down, or the lease is lost: nothing was written
            namespaces = changed
            self.force_analysis = False
            self.last_derive_took = time.perf_counter() - began
            self.outcome.derives += 1
            self.outcome.derive_seconds.append(self.last_derive_took)
            if since is not None:
                lag = time.monotonic() - since
                self.outcome.derive_lag_seconds.append(lag)
                log.info(
                    "cluster %s: ownership analysed in %.2f s, %.2f s after the first change "
                    "it covers%s",
                    self.cluster.name,
                    self.last_derive_took,
                    lag,
                    f"; child process peak RSS {self.outcome.derive_peak_rss_mb:.0f} MB"
                    if self.knobs.derive_in_child
                    else "",
                )
        self.last_inputs = inputs
        with self.handover_lock:
            if self.handover is not None:  # not taken yet: both are due
                namespaces |= self.handover.namespaces
            self.handover = _Handover(generation, namespaces)

    def _ending(self) -> bool:
        return self.ending.is_set() or self.stop.is_set()

    def _analyse_in_child(self) -> set[str] | None:
        """The analysis, and its save, in the child process: the namespaces whose ownership
        entry changed, or None when the watch ended first (nothing saved)."""
        done = self.child.analyse(
            self.cluster.pk,
            proceed=lambda: not self._ending(),
            wait=lambda seconds: self.ending.wait(seconds) or self.stop.is_set(),
        )
        self.outcome.derive_peak_rss_mb = max(self.outcome.derive_peak_rss_mb, done.peak_rss_mb)
        return done.namespaces if done.saved else None

    def _analyse_here(self) -> set[str] | None:
        """The same on this thread (TIDEWATCH_OWNERSHIP_CHILD=false)."""
        if self.owners is None:
            self.owners = namespace_ownership(self.cluster)
        analysis = analyse_ownership(self.cluster)
        if self._ending():
            return None  # shutting down, or the lease is lost: write nothing more
        release_free_memory()  # the analysis's scaffolding is freed: the write starts lower
        save_ownership(self.cluster, analysis)
        owners = namespace_entries(analysis.data["namespaces"])
        changed = {
            name
            for name in owners.keys() | self.owners.keys()
            if owners.get(name) != self.owners.get(name)
        }
        self.owners = owners
        return changed

    def _heartbeat(self) -> None:
        """While watching, the cluster is as current as its last event: say so, with the kinds
        that fail, as a poll does after each run."""
        if not self.initial_done.is_set():
            return
        now = time.monotonic()
        if now - self.last_heartbeat < self.knobs.heartbeat_seconds:
            return
        self.last_heartbeat = now
        watching = [key for key in self.kinds if key not in self.failed]
        finished = timezone.now()
        if self.kinds and not watching:
            # Every kind fails: the cluster turns stale as the last success ages, but the
            # watcher is alive and says so (/readyz), as a failed poll still finishes.
            Cluster.objects.filter(pk=self.cluster.pk).update(last_poll_finished_at=finished)
            return
        errors = sorted(f"{key}: {error.reason}" for key, error in self.failed.items())
        shown = {
            "last_error": "; ".join(errors)[:2000],
            "last_error_reason": "PartialFailure" if errors else "",
        }
        mine = Cluster.objects.filter(pk=self.cluster.pk)
        with transaction.atomic():
            # The times alone are no page change (relative times redraw with the minute term
            # of dashboard/changes.py): the version moves only when the card's state does,
            # else every heartbeat would make each open page compute its fingerprint.
            mine.update(last_poll_finished_at=finished, last_success_at=finished)
            if mine.exclude(**shown).update(**shown):
                bump()

    def _failed(self, reason: str, message: str) -> WatchOutcome:
        log.error("cluster %s: watch cannot start: %s: %s", self.cluster.name, reason, message)
        mark_cluster_unreachable(self.cluster, reason, message)
        rebuild_rollups(self.cluster)
        with writing():
            Cluster.objects.filter(pk=self.cluster.pk).update(
                last_poll_finished_at=timezone.now(),
                last_error=message[:2000],
                last_error_reason=reason[:100],
            )
        self.outcome.ended, self.outcome.reason, self.outcome.message = FAILED, reason, message
        return self.outcome

    def _end(self) -> None:
        self.ending.set()
        for stop in list(self.kind_stops.values()):
            stop.set()
        with self.informers_lock:
            informers = list(self.informers.values())
        for informer in informers:
            informer.stop()  # shuts down a watch blocked in a read
        for thread in self.threads:
            thread.join(timeout=10)
            if thread.is_alive():
                log.warning("cluster %s: %s did not end in time", self.cluster.name, thread.name)

    # --- informer threads: network I/O only ------------------------------------------------------

    def _put(self, item: _Item, weight: int = 1) -> None:
        while not self.ending.is_set():
            if self.queue.put(item, weight, timeout=0.5):
                return
            # The applier is behind: wait for it (this is what bounds memory).
        raise _Stopped

    @contextlib.contextmanager
    def _list_slot(self) -> Iterator[None]:
        """One of the list_slots, for one complete list; a watch that ends stops waiting."""
        while not self.list_slots.acquire(timeout=0.5):
            if self.ending.is_set():
                raise _Stopped
        try:
            yield
        finally:
            self.list_slots.release()

    def _api(self) -> k8s.ApiClient:
        """A client of this cluster's own: each thread reads through its own connections."""
        return build_api_client(spec_of(self.cluster), exec_timeout=settings.TIDEWATCH_EXEC_TIMEOUT)

    def _limits(self) -> Limits:
        # A watch runs for as long as it may: no poll deadline, but the same per-request bounds.
        return dataclasses.replace(poll_limits(time.monotonic()), deadline=None)

    def _informer(self, kind: ServedKind, resume_from: str) -> None:
        key = kind.spec.key
        stop = self.kind_stops.setdefault(key, threading.Event())
        try:
            api = self._api()
        except KubeError as exc:
            self._quietly(_Item(key, _FAILED, exc))
            return
        try:
            while not self.ending.is_set() and not stop.is_set():
                informer = Informer(
                    api,
                    kind,
                    on_event=lambda e: self._put(_Item(key, _EVENT, e)),
                    on_page=lambda events: self._put(_Item(key, _PAGE, events), len(events)),
                    list_gate=self._list_slot,
                    drop_managed_fields=True,  # never stored (the raw copy is without them)
                    on_synced=lambda s: self._put(_Item(key, _SYNCED, s)),
                    on_bookmark=lambda v: self._put(_Item(key, _BOOKMARK, v)),
                    stop=threading.Event(),
                    should_stop=lambda: self.ending.is_set() or stop.is_set(),
                    resume_from=resume_from,
                    resync_seconds=self.knobs.resync_seconds,
                    watch_timeout=self.knobs.watch_seconds,
                    page_size=settings.TIDEWATCH_LIST_PAGE_SIZE,
                    max_pages=settings.TIDEWATCH_MAX_LIST_PAGES,
                    timeouts=self._limits(),
                    cache_list_bytes=settings.TIDEWATCH_WATCH_CACHE_LIST_BYTES,
                    clock=self.clock,
                )
                with self.informers_lock:
                    self.informers[key] = informer
                if self.ending.is_set() or stop.is_set():
                    return
                if resume_from:
                    self._put(_Item(key, _RESUMED, resume_from))
                try:
                    informer.run()
                    return
                except WatchUnavailable as exc:
                    self._put(_Item(key, _UNAVAILABLE, exc))
                    return
                except KubeError as exc:
                    self._put(_Item(key, _FAILED, exc))
                except _Stopped:
                    return
                except Exception as exc:  # a bug must not end the other kinds' watches
                    log.exception("watch %s: unexpected error", key)
                    self._put(_Item(key, _FAILED, KubeError("InternalError", f"{exc}"[:500])))
                resume_from = ""  # after a failure the kind is listed again
                if stop.wait(self.knobs.retry_seconds):  # _end sets every kind's stop
                    return
        except _Stopped:
            return
        finally:
            api.close()

    def _quietly(self, item: _Item) -> None:
        with contextlib.suppress(_Stopped):
            self._put(item)

    def _supporting(self) -> None:
        """Watch the supporting kinds once the first lists are in (their Events are asked for
        the kinds that have objects) and hand the applier a snapshot after each change."""
        while not self.initial_done.wait(0.2):
            if self.ending.is_set():
                return

        def event_kinds() -> list[str]:
            with self.event_kinds_lock:
                return sorted(self.event_kinds)

        with self.informers_lock:
            if self.ending.is_set():
                return
            self.supporting = SupportingWatch(
                self._api,
                self.served,
                self.discovery_errors,
                event_kinds=event_kinds,
                on_snapshot=lambda snapshot: self._put(_Item("", _SUPPORTING, snapshot)),
                ending=self.ending,
                knobs=SupportingKnobs(
                    resync_seconds=self.knobs.resync_seconds,
                    watch_seconds=self.knobs.watch_seconds,
                    support_seconds=self.knobs.support_seconds,
                    retry_seconds=self.knobs.retry_seconds,
                    debounce_seconds=self.knobs.support_debounce_seconds,
                    page_size=settings.TIDEWATCH_LIST_PAGE_SIZE,
                    max_pages=settings.TIDEWATCH_MAX_LIST_PAGES,
                    max_events=settings.TIDEWATCH_MAX_EVENTS,
                    metrics_seconds=self.knobs.metrics_seconds,
                ),
                limits=self._limits(),
                server=self.server,
                clock=self.clock,
            )
        try:
            self.supporting.run()
        except _Stopped:
            return

    def _rediscover(self) -> None:
        """Discovery again every discovery_seconds (network only: the applier acts on it)."""
        while not self.ending.wait(self.knobs.discovery_seconds):
            try:
                api = self._api()
            except KubeError:
                continue  # the informers report the same problem on their kinds
            try:
                found = discover(api, (*GITOPS_KINDS, *SUPPORTING_KINDS), self._limits())
            except KubeError as exc:
                log.info("cluster %s: discovery again: %s", self.cluster.name, exc.message)
                continue
            finally:
                api.close()
            try:
                self._put(_Item("", _DISCOVERED, found))
            except _Stopped:
                return

    def _last_writers(self) -> None:
        """Read the last writer of contested resources (TW002) every last_writer_seconds, as a
        poll does after deriving; the applier stores them. Reads the store, never writes it."""
        try:
            api = self._api()
        except KubeError:
            return  # the informers report the same problem on their kinds
        try:
            while not self.ending.wait(self.knobs.last_writer_seconds):
                if not self.supporting_stored:
                    continue  # ownership (and its TW002 violations) not derived yet
                due = due_last_writers(self.cluster, timezone.now())
                if not due:
                    continue
                found = read_last_writers(api, due, self._limits())
                self._put(_Item("", _LAST_WRITERS, found))
        except _Stopped:
            return
        finally:
            api.close()
            connection.close()  # this thread's own connection (it read the store)
