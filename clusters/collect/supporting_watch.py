"""Watch the supporting kinds: namespaces, controller workloads, monitors and Events.

The same lists a poll makes (clusters/collect/snapshot.py ``collect_supporting``), each kept
current by its own ``Informer`` (list from the watch cache, watch with bookmarks, 410 relist,
resync every ``resync_seconds``) into an in-memory set. Whenever a set changed, and every list
has been answered once, ``on_snapshot`` gets a ``Snapshot`` of all of them, at most
``debounce_seconds`` after the change: the caller stores it with the poll's own store functions,
so what is stored is what a poll stores; only how it is learnt differs. At idle the API server
sees no list between resyncs.

- Workloads and their Pods: per kind, one watch per install namespace plus one of the
  ``part-of`` label selector everywhere (bounded as the poll's lists are).
- PodMetrics (metrics.k8s.io cannot be watched): the same lists, re-read every
  ``metrics_seconds``.
- Events: one watch per GitOps kind that has objects (``involvedObject.kind`` field selector);
  started and stopped as kinds gain or lose objects. At most ``max_events`` are held.
- A 403 on a watch (list allowed) or streams cut short: that list is re-listed every
  ``support_seconds`` instead, and the snapshot says so (``Snapshot.polled``).

No Django here. Network I/O happens in the source threads; ``run()`` (the caller's thread) only
builds snapshots.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

from clusters.collect.core import (
    CONTROLLER_NAMESPACES,
    CONTROLLER_SELECTOR,
    EVENTS,
    MONITOR_KINDS,
    NAMESPACES,
    POD_METRICS,
    PODS,
    WORKLOAD_KINDS,
)
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.snapshot import ERROR, NOT_INSTALLED, OK, KindResult, Snapshot
from clusters.collect.watch import (
    DELETED,
    LISTED,
    Informer,
    ObjectKey,
    Synced,
    WatchEvent,
    WatchUnavailable,
    object_key,
)
from clusters.kube import KubeError, Limits, list_all

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One list (and its watch) that the supporting snapshot is made of."""

    spec: KindSpec
    namespace: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        selector = "".join(f" {key}={value}" for key, value in self.params)
        return f"{self.spec.kind}{where}{selector}"


def event_source(kind: str) -> Source:
    return Source(EVENTS, params=(("fieldSelector", f"involvedObject.kind={kind}"),))


def supporting_sources(
    served: dict[KindSpec, ServedKind], event_kinds: Iterable[str]
) -> set[Source]:
    """The lists to watch: the poll's supporting lists, for the kinds the cluster serves."""
    sources: set[Source] = set()
    if NAMESPACES in served:
        sources.add(Source(NAMESPACES))
    for spec in (*WORKLOAD_KINDS, PODS, POD_METRICS):
        if spec in served:
            sources |= {Source(spec, namespace) for namespace in CONTROLLER_NAMESPACES}
            sources.add(Source(spec, params=(("labelSelector", CONTROLLER_SELECTOR),)))
    sources |= {Source(spec) for spec in MONITOR_KINDS if spec in served}
    if EVENTS in served:
        sources |= {event_source(kind) for kind in event_kinds}
    return sources


def fingerprint(result: KindResult | None) -> tuple[object, ...]:
    """What a store function would write for ``result``, cheaply: its state, its error, and
    each object's identity and resourceVersion. Equal fingerprints store the same rows."""
    if result is None:
        return ()
    error = (result.error.reason, result.error.message) if result.error is not None else None
    versions = frozenset(
        (
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            str(meta.get("uid") or ""),
            str(meta.get("resourceVersion") or ""),
        )
        for item in result.items
        if isinstance(meta := item.get("metadata"), dict)
    )
    return (result.state, error, versions)


@dataclass
class _Set:
    """What one source currently holds, as its informer saw it."""

    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    pending: dict[ObjectKey, dict[str, Any]] | None = None  # a list under way
    synced: bool = False  # answered completely at least once
    error: KubeError | None = None  # the last failure, until the next complete list
    polled: str = ""  # why this list is re-listed instead of watched
    dropped: bool = False  # objects left out to stay within the cap, until the next list


@dataclass(frozen=True)
class SupportingKnobs:
    resync_seconds: float
    watch_seconds: int
    support_seconds: float  # re-list pace of a list that may not be watched
    retry_seconds: float  # a failed list is tried again after this long
    debounce_seconds: float = 0.5  # a change waits this long for the ones that come with it
    page_size: int = 500
    max_pages: int = 1000
    max_events: int = 20_000
    metrics_seconds: float = 60.0  # PodMetrics re-read pace (they cannot be watched)


class SupportingWatch:
    """Keeps the supporting lists of one cluster current; ``run()`` until ``ending`` is set."""

    def __init__(
        self,
        make_api: Callable[[], k8s.ApiClient],
        served: dict[KindSpec, ServedKind],
        errors: dict[KindSpec, KubeError],
        *,
        event_kinds: Callable[[], Iterable[str]],
        on_snapshot: Callable[[Snapshot], None],
        ending: threading.Event,
        knobs: SupportingKnobs,
        limits: Limits,
        server: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.make_api = make_api
        self.event_kinds = event_kinds
        self.on_snapshot = on_snapshot
        self.ending = ending
        self.knobs = knobs
        self.limits = limits
        self.server = server
        self.clock = clock
        self.cond = threading.Condition()
        self.served = dict(served)
        self.errors = dict(errors)
        self.sets: dict[Source, _Set] = {}
        self.stops: dict[Source, threading.Event] = {}
        self.informers: dict[Source, Informer] = {}
        self.threads: list[threading.Thread] = []
        self.changed_at: float | None = None  # monotonic time of the first unsent change
        self.sent_once = False

    # --- the caller's thread ---------------------------------------------------------------------

    def set_served(
        self, served: dict[KindSpec, ServedKind], errors: dict[KindSpec, KubeError]
    ) -> None:
        """Discovery ran again: lists of kinds that appeared start, of kinds that went stop."""
        with self.cond:
            self.served, self.errors = dict(served), dict(errors)
            self._mark_changed()
            self.cond.notify_all()

    def run(self) -> None:
        """Reconcile the sources with what is served and wanted, and hand over snapshots."""
        try:
            while not self.ending.is_set():
                self._reconcile()
                snapshot = self._due_snapshot()
                if snapshot is not None:
                    self.on_snapshot(snapshot)
                with self.cond:
                    self.cond.wait(0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        with self.cond:
            stops, informers = list(self.stops.values()), list(self.informers.values())
        for stop in stops:
            stop.set()
        for informer in informers:
            informer.stop()  # shuts down a watch blocked in a read
        for thread in self.threads:
            thread.join(timeout=10)

    def _reconcile(self) -> None:
        wanted = supporting_sources(self.served, self.event_kinds())
        with self.cond:
            current = set(self.sets)
            for source in current - wanted:
                self.stops.pop(source).set()
                informer = self.informers.pop(source, None)
                if informer is not None:
                    informer.stop()
                del self.sets[source]
                self._mark_changed()
            for source in wanted - current:
                self.sets[source] = _Set()
                self.stops[source] = threading.Event()
        for source in wanted - current:
            thread = threading.Thread(
                target=self._source, args=(source,), name=f"support-{source.name}", daemon=True
            )
            self.threads.append(thread)
            thread.start()
        self.threads = [t for t in self.threads if t.is_alive()]

    def _due_snapshot(self) -> Snapshot | None:
        with self.cond:
            if self.changed_at is None and self.sent_once:
                return None
            if self.changed_at is not None and (
                time.monotonic() - self.changed_at < self.knobs.debounce_seconds
            ):
                return None
            if not all(s.synced or s.error is not None for s in self.sets.values()):
                return None  # a list is still under way: the snapshot would lack it
            self.changed_at = None
            self.sent_once = True
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        """What a poll's ``collect_supporting`` would have returned (called under the lock)."""

        def result(
            spec: KindSpec, sources: list[Source], cap: tuple[int, str] | None = None
        ) -> KindResult:
            if spec in self.errors:
                return KindResult(spec, ERROR, error=self.errors[spec])
            served = self.served.get(spec)
            if served is None:
                return KindResult(spec, NOT_INSTALLED)
            unique: dict[ObjectKey, dict[str, Any]] = {}
            for source in sources:
                held = self.sets.get(source)
                if held is None:
                    continue
                if held.error is not None:
                    return KindResult(spec, ERROR, served=served, error=held.error)
                for key, obj in held.objects.items():
                    # A workload in an install namespace and labelled is listed twice: once.
                    unique.setdefault(key, obj)
            items = list(unique.values())
            if cap is not None and (
                len(items) > cap[0] or any(self.sets[s].dropped for s in sources if s in self.sets)
            ):
                error = KubeError(
                    "TooManyObjects",
                    f"{served.list_path()}: more objects than {cap[1]} allows; "
                    "the list was not finished",
                )
                return KindResult(spec, ERROR, served=served, error=error)
            return KindResult(spec, OK, served=served, items=items, count=len(items))

        by_spec: dict[KindSpec, list[Source]] = {}
        for source in self.sets:
            by_spec.setdefault(source.spec, []).append(source)
        cap = self.knobs.max_events
        return Snapshot(
            server=self.server,
            kinds=[],
            namespaces=result(NAMESPACES, by_spec.get(NAMESPACES, [])),
            workloads=[result(spec, by_spec.get(spec, [])) for spec in WORKLOAD_KINDS],
            monitors=[result(spec, by_spec.get(spec, [])) for spec in MONITOR_KINDS],
            events=result(EVENTS, by_spec.get(EVENTS, []), (cap, f"TIDEWATCH_MAX_EVENTS={cap}")),
            pods=result(PODS, by_spec.get(PODS, [])),
            metrics=result(POD_METRICS, by_spec.get(POD_METRICS, [])),
            polled={s.name: held.polled for s, held in self.sets.items() if held.polled},
        )

    def _mark_changed(self) -> None:
        if self.changed_at is None:
            self.changed_at = time.monotonic()

    # --- source threads: network I/O -------------------------------------------------------------

    def _stopped(self, source: Source) -> bool:
        stop = self.stops.get(source)
        return self.ending.is_set() or stop is None or stop.is_set()

    def _held(self, source: Source) -> _Set | None:
        held = self.sets.get(source)
        return None if held is None or self._stopped(source) else held

    def _cap(self, source: Source) -> int | None:
        """How many objects ``source`` may hold (Events only); called under the lock."""
        if source.spec != EVENTS:
            return None
        # One cap over every Events list, as a poll's: a list under way counts instead of the
        # set it replaces (a resync must not look like twice as many Events).
        others = sum(
            len(h.pending) if h.pending is not None else len(h.objects)
            for s, h in self.sets.items()
            if s.spec == EVENTS and s != source
        )
        return self.knobs.max_events - others

    def _on_event(self, source: Source, event: WatchEvent) -> None:
        key = object_key(event.object)
        if key is None:
            return
        metadata = event.object.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)  # never read here: not held
        with self.cond:
            held = self._held(source)
            if held is None:
                return
            target = held.pending if event.type == LISTED else held.objects
            if target is None:  # a list's first item
                target = held.pending = {}
            if event.type == DELETED:
                target.pop(key, None)
            else:
                cap = self._cap(source)
                # One past the cap is held, so the snapshot is "more than the cap" (stale with
                # the poll's reason); the rest is left out, which bounds the memory.
                if cap is not None and key not in target and len(target) > cap:
                    held.dropped = True
                    return
                target[key] = event.object
            if event.type != LISTED:
                self._mark_changed()
                self.cond.notify_all()

    def _on_synced(self, source: Source, synced: Synced) -> None:
        with self.cond:
            held = self._held(source)
            if held is None:
                return
            listed = held.pending or {}
            held.objects = {k: v for k, v in listed.items() if k in synced.keys}
            held.pending, held.synced, held.error = None, True, None
            held.dropped = held.dropped and len(listed) < len(synced.keys)
            self._mark_changed()
            self.cond.notify_all()

    def _on_failure(self, source: Source, error: KubeError) -> None:
        log.warning("supporting list %s: %s", source.name, error.message)
        with self.cond:
            held = self._held(source)
            if held is None:
                return
            held.pending, held.error = None, error
            self._mark_changed()
            self.cond.notify_all()

    def _source(self, source: Source) -> None:
        while True:
            try:
                api = self.make_api()
                break
            except KubeError as exc:
                self._on_failure(source, exc)
            stop = self.stops.get(source)
            if stop is None or stop.wait(self.knobs.retry_seconds):
                return
        try:
            if source.spec == POD_METRICS:
                self._relist_source(api, source)
            else:
                self._watch_source(api, source)
        except Exception as exc:  # a bug must not end the other lists
            log.exception("supporting list %s: unexpected error", source.name)
            self._on_failure(source, KubeError("InternalError", f"{exc}"[:500]))
        finally:
            api.close()

    def _watch_source(self, api: k8s.ApiClient, source: Source) -> None:
        stop = self.stops.get(source)
        served = self.served.get(source.spec)
        if stop is None or served is None:
            return
        while not self._stopped(source):
            informer = Informer(
                api,
                served,
                namespace=source.namespace,
                params=source.params,
                on_event=lambda e: self._on_event(source, e),
                on_synced=lambda s: self._on_synced(source, s),
                drop_managed_fields=True,  # held in memory, never stored
                should_stop=lambda: self._stopped(source),
                resync_seconds=self.knobs.resync_seconds,
                watch_timeout=self.knobs.watch_seconds,
                page_size=self.knobs.page_size,
                max_pages=self.knobs.max_pages,
                timeouts=self.limits,
                clock=self.clock,
            )
            with self.cond:
                if self._stopped(source):
                    return
                self.informers[source] = informer
            try:
                informer.run()
                return
            except WatchUnavailable as exc:
                self._poll_source(api, source, served, exc)
                return
            except KubeError as exc:
                self._on_failure(source, exc)
            if stop.wait(self.knobs.retry_seconds):
                return

    def _relist_source(self, api: k8s.ApiClient, source: Source) -> None:
        """A list that cannot be watched at all (PodMetrics): listed now, then every
        metrics_seconds. A failure is held until the next list answers."""
        stop = self.stops.get(source)
        served = self.served.get(source.spec)
        if stop is None or served is None:
            return
        while True:
            if not self._list_once(api, source, served, self.limits.objects):
                return
            # Paced by ``clock`` (a test moves it), looked at five times a second.
            due = self.clock() + self.knobs.metrics_seconds
            while self.clock() < due:
                if stop.wait(0.2):
                    return
            if stop.is_set():
                return

    def _poll_source(
        self, api: k8s.ApiClient, source: Source, served: ServedKind, why: WatchUnavailable
    ) -> None:
        """Watch is not possible for this list: list it every support_seconds instead."""
        stop = self.stops.get(source)
        if stop is None:
            return
        if why.reason == "WatchForbidden":
            reason = f"watch not allowed ({why.status or 403} Forbidden)"
        else:
            reason = "watch streams cut short"
        every = f"{self.knobs.support_seconds:g}"
        sentence = f"{source.name}: {reason}; re-listed every {every} s"
        log.warning("supporting list %s: %s", source.name, why.message)
        with self.cond:
            held = self._held(source)
            if held is None:
                return
            held.polled = sentence
            self._mark_changed()
            self.cond.notify_all()
        while not stop.wait(self.knobs.support_seconds):
            with self.cond:
                cap = self._cap(source)
            if cap is None:
                listed = self._list_once(api, source, served, self.limits.objects)
            else:
                setting = f"TIDEWATCH_MAX_EVENTS={self.knobs.max_events}"
                listed = self._list_once(api, source, served, max(cap, 0), setting)
            if not listed:
                return

    def _list_once(
        self,
        api: k8s.ApiClient,
        source: Source,
        served: ServedKind,
        max_objects: int,
        objects_setting: str = "",
    ) -> bool:
        """List ``source`` once and hold what it answered (a failure is held until a list
        answers); False when the source is no longer wanted."""
        try:
            items = list_all(
                api,
                served.list_path(source.namespace),
                page_size=self.knobs.page_size,
                limits=self.limits,
                params=list(source.params),
                max_objects=max_objects,
                objects_setting=objects_setting,
            )
        except KubeError as exc:
            self._on_failure(source, exc)
            return True
        for item in items:
            item.setdefault("apiVersion", served.api_version)
            item.setdefault("kind", source.spec.kind)
        listed = {key: item for item in items if (key := object_key(item)) is not None}
        with self.cond:
            held = self._held(source)
            if held is None:
                return False
            if listed != held.objects or held.error is not None or not held.synced:
                held.objects, held.error, held.synced = listed, None, True
                self._mark_changed()
                self.cond.notify_all()
        return True
