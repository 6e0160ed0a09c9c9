"""List + watch for one kind: the informer pattern, over the real ``kubernetes`` client.

One ``Informer`` keeps one kind of one cluster current: it lists the kind (page by page, from the
API server's watch cache where it may), then watches from the list's resourceVersion with
bookmarks, and hands every object to a consumer in the order the API server sent them. It
rewatches from the last resourceVersion when a stream ends, relists when that version has expired
(410), and lists everything again every ``resync_seconds`` so a missed event cannot last for ever.

Raw JSON only: requests are made as ``clusters.kube.get_json`` makes them (``param_serialize`` +
``call_api``, nothing deserialised into models), and the watch stream is read line by line and
decoded with orjson. No Django here: the consumer decides what an event means to the store.
See docs/watch.md for what each answer from the server does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s

from clusters.collect.kinds import ServedKind
from clusters.collect.readahead import read_ahead
from clusters.kube import (
    DEFAULT_LIMITS,
    KubeError,
    Limits,
    _from_status,
    _from_transport_error,
    get_json,
    server_of,
)

log = logging.getLogger(__name__)

# Event types a consumer receives. LISTED is an object seen in a (re)list: upsert it like ADDED.
ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
LISTED = "LISTED"

# Why a list ran, as given to ``on_synced``.
INITIAL = "initial"
EXPIRED = "expired"
RESYNC = "resync"

DEFAULT_RESYNC_SECONDS = 600.0
# client-go picks 5-10 minutes; the API server caps timeoutSeconds at its own limit anyway.
DEFAULT_WATCH_TIMEOUT = 300
# The client gives the server this long past timeoutSeconds to end the stream itself.
READ_MARGIN_SECONDS = 10.0
# An object in etcd is at most 1.5 MiB; a line far beyond that is not an event.
DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024
# A continue token that never runs out must not keep a list going for ever.
DEFAULT_MAX_PAGES = 1000
# Transient watch failures in a row before the informer gives up and raises.
DEFAULT_MAX_FAILURES = 5

ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


class WatchUnavailable(KubeError):
    """Watching this kind cannot work here: the caller should poll it instead.

    ``reason`` says why: "WatchForbidden" (RBAC grants list but not watch) or "WatchCut" (every
    watch stream ends at once with nothing in it, as behind a proxy that cuts long requests)."""


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or LISTED
    object: dict[str, Any]
    resource_version: str


@dataclass(frozen=True)
class Synced:
    """A list finished: ``keys`` is every object that exists, so the store can drop the rest."""

    keys: frozenset[ObjectKey]
    resource_version: str
    reason: str  # INITIAL, EXPIRED or RESYNC


@dataclass
class WatchState:
    """Where an informer stands; ``resource_version`` is what to resume from after a restart."""

    kind: str
    resource_version: str = ""
    last_bookmark: float | None = None  # clock time of the last BOOKMARK
    last_list: float | None = None  # clock time the last complete list ended
    lists: int = 0
    watches: int = 0
    expired: int = 0


class Action(Enum):
    """What the informer does with one line of a watch stream, or with one failed request."""

    EVENT = "event"  # hand the object to the consumer
    BOOKMARK = "bookmark"  # only advance the resourceVersion
    RELIST = "relist"  # our resourceVersion is gone: list again (consistently)
    FORBIDDEN = "forbidden"  # may not watch: fall back to polling
    RETRY = "retry"  # transient: watch again from the last resourceVersion
    FAIL = "fail"  # give up and raise


# --- pure helpers --------------------------------------------------------------------------------


def object_key(obj: dict[str, Any]) -> ObjectKey | None:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return None
    namespace = metadata.get("namespace")
    return (namespace if isinstance(namespace, str) else "", metadata["name"])


def resource_version_of(obj: Any) -> str:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    value = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else ""


def _drop_managed_fields(items: list[Any]) -> None:
    for item in items:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)


def classify_failure(status: int | None, message: str) -> Action:
    """A failed watch (HTTP status, or an ERROR event's Status code) → what to do.

    Mirrors client-go's reflector: an expired or too-large resourceVersion means our place in
    the history is gone, so only a new list can continue; a timeout, a throttle or a server error
    is worth another watch from where we were.
    """
    text = message.lower()
    if status == 410 or "too old resource version" in text or "too large resource version" in text:
        return Action.RELIST
    if status == 403:
        return Action.FORBIDDEN
    if status in (None, 0, 429, 500, 502, 503, 504):
        return Action.RETRY
    return Action.FAIL


def classify_line(document: Any) -> Action:
    """One decoded line of a watch stream → what to do with it."""
    if not isinstance(document, dict) or not isinstance(document.get("object"), dict):
        return Action.RETRY  # garbage: drop this stream, watch again from the last good version
    kind = document.get("type")
    if kind in (ADDED, MODIFIED, DELETED):
        return Action.EVENT
    if kind == "BOOKMARK":
        return Action.BOOKMARK
    if kind == "ERROR":
        status = document["object"].get("code")
        return classify_failure(
            status if isinstance(status, int) else None, str(document["object"].get("message", ""))
        )
    return Action.RETRY


def list_query(
    *,
    page_size: int,
    token: str = "",
    resource_version: str | None = None,
    params: Sequence[tuple[str, Any]] = (),
) -> list[tuple[str, Any]]:
    """Query of one list page. ``resource_version`` "0" or a version reads the watch cache
    (NotOlderThan); None asks for a consistent list from etcd. Continuation pages carry only the
    token: the API server refuses resourceVersionMatch with continue. ``params`` (a label or
    field selector) go on every page: a continue token does not carry them."""
    query: list[tuple[str, Any]] = [*params, ("limit", page_size)]
    if token:
        query.append(("continue", token))
    elif resource_version is not None:
        query += [("resourceVersion", resource_version), ("resourceVersionMatch", "NotOlderThan")]
    return query


def relist_version(state: WatchState, reason: str, from_watch_cache: bool) -> str | None:
    """Which resourceVersion a list asks for (client-go's relistResourceVersion).

    First list: "0", any version the watch cache has. Resync: not older than what we have seen,
    still from the cache. After an expiry: a consistent list, because the cache may be as far
    behind as our version was."""
    if not from_watch_cache or reason == EXPIRED:
        return None
    if reason == RESYNC and state.resource_version:
        return state.resource_version
    return "0"


def watch_timeout_for(now: float, next_resync: float | None, watch_timeout: int) -> int:
    """timeoutSeconds for the next watch: end the stream in time for the next resync."""
    if next_resync is None:
        return max(1, watch_timeout)
    return max(1, min(watch_timeout, math.ceil(next_resync - now)))


def resync_due(since: float | None, now: float, resync_seconds: float) -> bool:
    """Whether a full list is due; ``since`` is when the last list ended (or the resumed watch
    began), None before either."""
    return since is not None and now - since >= resync_seconds


# --- the informer --------------------------------------------------------------------------------


class _Relist(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class Informer:
    """Keeps one kind of one cluster current for a consumer; ``run()`` until stopped.

    ``on_event`` gets every object in order (LISTED during a list, then ADDED / MODIFIED /
    DELETED from the watch); ``on_synced`` after each complete list; ``on_bookmark`` with each
    bookmark's resourceVersion. With ``on_page``, a list's LISTED events come instead as one
    call per page (a list of them, in order), so a consumer can hand a page over as one item.
    ``list_gate`` (a context manager factory) is entered around each complete list: a caller
    that watches many kinds bounds how many are listed, and held in memory, at once. A page
    from the watch cache is the whole kind (the cache ignores ``limit``): it is handed over
    in slices of ``page_size``, each released as it goes. ``drop_managed_fields`` removes
    metadata.managedFields from each object as it is read (for a consumer that never keeps
    them: much of a real object's size, held while the page waits for the consumer).
    A callback that raises ends ``run()`` with that exception, and
    ``state.resource_version`` is then the last version the consumer fully handled.

    ``resume_from`` starts with a watch from that version instead of a list (after a restart),
    relisting only if the server no longer has it. ``clock`` (monotonic seconds) decides when a
    resync is due, so a test can move time without sleeping; a back-off waits on ``stop``.
    """

    def __init__(
        self,
        api: k8s.ApiClient,
        kind: ServedKind,
        *,
        on_event: Callable[[WatchEvent], None],
        on_synced: Callable[[Synced], None] | None = None,
        on_bookmark: Callable[[str], None] | None = None,
        on_page: Callable[[list[WatchEvent]], None] | None = None,
        list_gate: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        drop_managed_fields: bool = False,
        stop: threading.Event | None = None,
        should_stop: Callable[[], bool] | None = None,
        resume_from: str = "",
        resync_seconds: float = DEFAULT_RESYNC_SECONDS,
        watch_timeout: int = DEFAULT_WATCH_TIMEOUT,
        from_watch_cache: bool = True,
        page_size: int = 500,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_failures: int = DEFAULT_MAX_FAILURES,
        backoff_seconds: float = 1.0,
        read_margin: float = READ_MARGIN_SECONDS,
        timeouts: Limits = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        namespace: str = "",
        params: Sequence[tuple[str, Any]] = (),
        cache_list_bytes: int | None = None,
    ) -> None:
        self.api = api
        self.kind = kind
        self.path = kind.list_path(namespace)
        self.params = tuple(params)  # a label or field selector, on every list and watch
        self.on_event = on_event
        self.on_synced = on_synced
        self.on_bookmark = on_bookmark
        self.on_page = on_page
        self.list_gate = list_gate or contextlib.nullcontext
        self.drop_managed_fields = drop_managed_fields
        self.stop_event = stop if stop is not None else threading.Event()
        self.should_stop = should_stop
        self.resync_seconds = resync_seconds
        self.watch_timeout = watch_timeout
        self.from_watch_cache = from_watch_cache
        self.page_size = page_size
        self.max_pages = max_pages
        self.max_event_bytes = max_event_bytes
        self.max_failures = max_failures
        self.backoff_seconds = backoff_seconds
        self.read_margin = read_margin
        self.timeouts = timeouts
        # The most a resourceVersion=0 answer (the whole kind, ``limit`` ignored) may be before
        # the list is made paged instead: parsed at once, JSON grows ~6x into Python objects.
        self.cache_list_bytes = cache_list_bytes
        self.clock = clock
        self.state = WatchState(kind.spec.key, resource_version=resume_from)
        # When the resync clock started: the last list's end, or the start of a resumed watch.
        self._resync_since: float | None = None
        self._response_lock = threading.Lock()
        self._response: Any = None

    # --- control ---------------------------------------------------------------------------------

    def stopped(self) -> bool:
        return self.stop_event.is_set() or (self.should_stop is not None and self.should_stop())

    def stop(self) -> None:
        """Ask ``run()`` to return; interrupts a watch blocked waiting for the next line."""
        self.stop_event.set()
        with self._response_lock:
            if self._response is not None:
                with contextlib.suppress(OSError, AttributeError):  # already closed: fine
                    self._response.shutdown()

    def run(self) -> WatchState:
        """List (unless resuming), then watch until stopped. Returns the final state.

        Raises WatchUnavailable when watch is refused (list allowed) or every stream is cut
        short: poll this kind instead.
        Raises KubeError when the list fails, or the watch fails ``max_failures`` times in a row.
        """
        reason = "" if self.state.resource_version else INITIAL
        if not reason:
            self._resync_since = self.clock()
        failures = 0
        while not self.stopped():
            if reason:
                self._list(reason)
                reason = ""
                # The server answered a whole list: failures before it are no streak. (A CRD
                # upgrade on a real server is a cut stream, a 429 and a 410 in a row, each time.)
                failures = 0
                continue
            try:
                self._watch_once()
            except _Relist as relist:
                if relist.reason == EXPIRED:
                    self.state.expired += 1
                reason = relist.reason
                continue
            except KubeError as exc:
                action = classify_failure(exc.status, exc.message)
                if action is Action.FORBIDDEN:
                    raise WatchUnavailable(
                        "WatchForbidden",
                        f"{self.kind.spec.kind}: list is allowed but watch is not ({exc.message}); "
                        "falling back to polling",
                        exc.status,
                    ) from None
                if action is Action.RELIST:
                    self.state.expired += 1
                    reason = EXPIRED
                    continue
                if self.stopped():
                    break  # the failure is stop() closing the stream
                failures += 1
                if exc.reason == "WatchCut" and failures >= self.max_failures:
                    raise WatchUnavailable(
                        "WatchCut",
                        f"{exc.message}, {failures} times in a row; falling back to polling",
                    ) from None
                if action is Action.FAIL or failures >= self.max_failures:
                    raise
                log.warning("watch %s: %s; watching again (%d)", self.path, exc.message, failures)
                self.stop_event.wait(min(30.0, self.backoff_seconds * 2 ** (failures - 1)))
                continue
            failures = 0  # a stream that ran its course ends a streak of failures
            if self._resync_due():
                reason = RESYNC
        return self.state

    # --- list ------------------------------------------------------------------------------------

    def _list(self, reason: str) -> None:
        """One complete list, items handed over page by page; restarts consistently once if a
        continue token expires mid-list (410), or if a watch-cache list is over the response
        cap (the cache ignores ``limit`` for resourceVersion=0 and sends the whole kind)."""
        version = relist_version(self.state, reason, self.from_watch_cache)
        if version == "0" and self._whole_kind_over_cap():
            version = None  # paged from etcd now, not after the server built the whole answer
        for attempt in (1, 2):
            try:
                with self.list_gate():
                    keys, list_rv = self._list_pages(version)
                break
            except KubeError as exc:
                unpaged = version == "0" and exc.reason == "TooLarge"
                expired = classify_failure(exc.status, exc.message) is Action.RELIST
                if attempt == 2 or not (unpaged or expired):
                    raise
                # Nothing of a body over the cap was handed over: the paged list starts clean.
                log.warning("list %s: %s; listing again from etcd, paged", self.path, exc.message)
                version = None
        self.state.resource_version = list_rv
        self.state.last_list = self._resync_since = self.clock()
        self.state.lists += 1
        if self.on_synced is not None:
            self.on_synced(Synced(frozenset(keys), list_rv, reason))

    def _whole_kind_over_cap(self) -> bool:
        """Whether the watch cache's whole-kind answer would be over its cap, judged from one
        object and the server's count of the rest (a consistent list of ``limit=1``).

        Without this, the server encodes every object of a big kind (the whole of 10,000
        Applications: 66 MiB on the demo server, ~1.4 s of its time) for an answer that is
        abandoned unread at the cap, and the kind is then listed paged all the same. A server
        that does not count (a selector) leaves it to that fallback."""
        cap = self.cache_list_bytes
        if cap is None or cap >= self.timeouts.response_bytes:
            return False
        probe = get_json(self.api, self.path, [*self.params, ("limit", 1)], self.timeouts)
        metadata = probe.get("metadata") if isinstance(probe.get("metadata"), dict) else {}
        rest = metadata.get("remainingItemCount")
        items = probe.get("items")
        if not isinstance(rest, int) or isinstance(rest, bool) or not isinstance(items, list):
            return False
        if not items:
            return False
        return len(orjson.dumps(items[0])) * (1 + rest) > cap

    def _list_pages(self, version: str | None) -> tuple[set[ObjectKey], str]:
        keys: set[ObjectKey] = set()
        list_rv = ""
        # Page k+1 is fetched while page k is handed over (the handover waits for the store).
        pages = read_ahead(self._fetch_pages(version), name=f"list-{self.kind.spec.key}")
        try:
            for first, items in pages:
                if first is not None:
                    list_rv = first
                step = max(1, self.page_size)
                for start in range(0, len(items), step):
                    self._hand_over(items, start, start + step, keys)
        finally:
            pages.close()
        return keys, list_rv

    def _hand_over(self, items: list[Any], start: int, end: int, keys: set[ObjectKey]) -> None:
        """items[start:end] to the consumer, in order; then the page lets go of them."""
        events = []
        for item in items[start:end]:
            key = object_key(item) if isinstance(item, dict) else None
            if key is None:
                continue
            # Lists of built-in kinds omit apiVersion/kind on each item.
            item.setdefault("apiVersion", self.kind.api_version)
            item.setdefault("kind", self.kind.spec.kind)
            keys.add(key)
            events.append(WatchEvent(LISTED, item, resource_version_of(item)))
        if self.on_page is not None:
            if events:
                self.on_page(events)
        else:
            for event in events:
                self.on_event(event)
        # Once the consumer is done with them, nothing here keeps them alive.
        items[start:end] = [None] * len(items[start:end])

    def _fetch_pages(self, version: str | None) -> Iterator[tuple[str | None, list[Any]]]:
        """The list's pages: (the list's resourceVersion on the first page, else None; items).
        Network I/O and JSON only: it runs in the read-ahead thread."""
        token = ""
        for _ in range(self.max_pages):
            query = list_query(
                page_size=self.page_size, token=token, resource_version=version, params=self.params
            )
            page = self._get_page(query, unpaged=version == "0" and not token)
            items = page.get("items") or []
            if not isinstance(items, list):
                raise KubeError("InvalidResponse", f"{self.path}: items is not a list")
            metadata = page.get("metadata") if isinstance(page.get("metadata"), dict) else {}
            del page  # the items and the metadata are all that is kept
            if self.drop_managed_fields:
                _drop_managed_fields(items)
            # The version of the whole list is the first page's: later pages repeat it.
            first = None if token else str(metadata.get("resourceVersion") or "")
            token = str(metadata.get("continue") or "")
            yield first, items
            del items
            if not token:
                return
        raise KubeError(
            "TooManyPages",
            f"{self.path}: the list did not end after {self.max_pages} pages of {self.page_size}",
        )

    def _get_page(self, query: list[tuple[str, Any]], *, unpaged: bool) -> dict[str, Any]:
        cap = self.cache_list_bytes
        if not unpaged or cap is None or cap >= self.timeouts.response_bytes:
            return get_json(self.api, self.path, query, self.timeouts)
        try:
            return get_json(
                self.api, self.path, query, dataclasses.replace(self.timeouts, response_bytes=cap)
            )
        except KubeError as exc:
            if exc.reason != "TooLarge":
                raise
            raise KubeError(
                "TooLarge",
                f"the watch cache answered {self.path} with the whole kind, more than "
                f"{cap // 1024} KiB (TIDEWATCH_WATCH_CACHE_LIST_BYTES)",
            ) from None

    # --- watch -----------------------------------------------------------------------------------

    def _next_resync(self) -> float | None:
        if self._resync_since is None:
            return None
        return self._resync_since + self.resync_seconds

    def _resync_due(self) -> bool:
        return resync_due(self._resync_since, self.clock(), self.resync_seconds)

    def _watch_once(self) -> None:
        """One watch stream from the current version, until it ends, a resync is due, or stop.

        Raises _Relist when the version is gone or a resync is due, KubeError when the request
        fails or the stream was cut short.
        """
        timeout = watch_timeout_for(self.clock(), self._next_resync(), self.watch_timeout)
        query: list[tuple[str, Any]] = [
            *self.params,
            ("watch", "true"),
            ("resourceVersion", self.state.resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout),
        ]
        self.state.watches += 1
        started = time.monotonic()
        # The overall deadline bounds a server that trickles bytes and never ends the stream.
        deadline = started + timeout + self.read_margin
        with contextlib.closing(self._stream_lines(query, timeout, deadline)) as lines:
            delivered = self._consume(lines)
        elapsed = time.monotonic() - started
        if not delivered and elapsed < timeout / 2 and not self.stopped():
            # A healthy server keeps a quiet watch open until timeoutSeconds (and sends a
            # bookmark before it ends): an empty stream cut short is a proxy or a broken server.
            raise KubeError(
                "WatchCut",
                f"watch {self.path} ended after {elapsed:.1f} s of {timeout} s with nothing in it "
                "(a proxy that cuts long requests?)",
            )

    def _consume(self, lines: Iterator[bytes]) -> bool:
        """Hand each event over; returns whether the stream held anything at all."""
        progressed = False
        for line in lines:
            if self.stopped():
                break
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise KubeError(
                    "InvalidResponse", f"watch {self.path}: a line is not JSON"
                ) from None
            action = classify_line(document)
            obj = document.get("object") if isinstance(document, dict) else None
            if action is Action.EVENT:
                if self.drop_managed_fields:
                    _drop_managed_fields([obj])
                version = resource_version_of(obj)
                self.on_event(WatchEvent(document["type"], obj, version))
                if version:
                    self.state.resource_version = version
            elif action is Action.BOOKMARK:
                version = resource_version_of(obj)
                if version:
                    self.state.resource_version = version
                self.state.last_bookmark = self.clock()
                if self.on_bookmark is not None:
                    self.on_bookmark(version)
            else:
                message = str(obj.get("message", "")) if isinstance(obj, dict) else ""
                code = obj.get("code") if isinstance(obj, dict) else None
                if action is Action.RELIST:
                    raise _Relist(EXPIRED)
                raise KubeError(
                    "WatchError" if action is not Action.FORBIDDEN else "Forbidden",
                    f"watch {self.path}: {message or 'unreadable event'}",
                    code if isinstance(code, int) else None,
                )
            progressed = True
            if self._resync_due():
                raise _Relist(RESYNC)
        return progressed

    def _stream_lines(
        self, query: list[tuple[str, Any]], timeout: int, deadline: float
    ) -> Iterator[bytes]:
        """The stream's lines as they arrive. Every socket read waits at most timeoutSeconds plus
        a margin (the server may send nothing until it ends the stream)."""
        read_timeout = timeout + self.read_margin
        try:
            method, url, headers, _, _ = self.api.param_serialize(
                "GET",
                self.path,
                query_params=query,
                # identity: a stream is read as it arrives and never inflated on our side.
                header_params={"Accept": "application/json", "Accept-Encoding": "identity"},
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(
                method,
                url,
                header_params=headers,
                _request_timeout=(self.timeouts.connect, read_timeout),
            )
        except k8s.ApiException as exc:
            raise _from_status(exc.status, exc.reason, exc.body, exc.headers, self.path) from None
        except urllib3.exceptions.HTTPError as exc:
            raise _from_transport_error(exc, self.api, self.path) from None
        except ssl.SSLError as exc:
            raise KubeError(
                "TLSError", f"TLS failed talking to {server_of(self.api)}: {exc}"
            ) from None
        except OSError as exc:
            raise KubeError("Unreachable", f"{server_of(self.api)}: {exc}") from None
        raw = response.response  # the urllib3 response, still unread
        with self._response_lock:
            self._response = raw
        finished = False
        try:
            if self.stopped():
                return
            if not 200 <= response.status < 300:
                body = raw.read(64 * 1024, decode_content=False)
                raise _from_status(response.status, response.reason, body, raw.headers, self.path)
            yield from self._split_lines(raw, deadline)
            finished = True
        except urllib3.exceptions.HTTPError as exc:
            if self.stopped():
                return
            raise _from_transport_error(exc, self.api, self.path) from None
        except (OSError, ValueError) as exc:
            # stop() shuts the socket down under a blocked read: that is the end, not an error.
            if self.stopped():
                return
            raise KubeError("ConnectionDropped", f"watch {self.path}: {exc}") from None
        finally:
            with self._response_lock:
                self._response = None
            if finished and raw.isclosed():
                raw.release_conn()  # read to the end: the connection can serve the next watch
            else:
                raw.close()  # mid-stream: the connection cannot be reused

    def _split_lines(self, raw: Any, deadline: float) -> Iterator[bytes]:
        pending = bytearray()  # the start of a line whose end has not arrived yet
        for chunk in raw.stream(64 * 1024, decode_content=False):
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                pending += chunk[start:newline]
                start = newline + 1
                if pending.strip():
                    yield bytes(pending)
                pending.clear()
            pending += chunk[start:]
            if len(pending) > self.max_event_bytes:
                raise KubeError(
                    "InvalidResponse",
                    f"watch {self.path}: an event over {self.max_event_bytes} bytes",
                )
            if time.monotonic() > deadline or self.stopped():
                return
        if pending.strip():
            yield bytes(pending)
