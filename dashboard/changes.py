"""Change tokens: an open page asks "anything new for me since <token>?" and gets 204 when not.

A token is ``<store version>-<minute>-<scope>``:

- the store version (clusters/store/version.py) moves with every store write, whatever wrote
  it (a poll or a watch). While it stands still, a check is one primary-key read: 204.
- the minute, because relative times ("2 min ago") and staleness move with the clock even when
  the store does not: a page re-renders once a minute at most for that.
- the scope: a digest of what this page shows (its ``fingerprint``, a few indexed queries),
  computed only when the version moved. When it is unchanged the page is not re-rendered: the
  answer is 204 with the new token in the ``X-Tidewatch-Since`` header, which
  static/js/tidewatch.js puts where the next poll reads it.

The token travels as the ``since`` parameter of the page's own poll (a hidden input in the
swapped part: no inline script).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clusters.models import (
    Cluster,
    Event,
    GitOpsObject,
    NamespaceRollup,
    StatusTransition,
    Violation,
)
from clusters.store import version
from dashboard.helm_drift import drifted_rows
from dashboard.object_timeline import Identity, attempts

HEADER = "X-Tidewatch-Since"


@dataclass(frozen=True)
class Check:
    """The token a page renders with, or the 204 that answers its poll instead."""

    token: str
    response: HttpResponse | None = None


def idle(request: HttpRequest) -> HttpResponse | None:
    """The 204 for a poll while the store stood still (one query), before the page even reads
    its parameters; None otherwise."""
    since = _since(request)
    if since and since.startswith(_head(request) + "-"):
        return HttpResponse(status=204)
    return None


def check(request: HttpRequest, fingerprint: Callable[[], object]) -> Check:
    """Decide whether a page's poll needs a render (``response`` None) or a 204.

    The version is read before anything the page shows: a write committed while the page
    renders makes the next poll look again; it is never lost."""
    head = _head(request)
    since = _since(request)
    if since.startswith(head + "-"):
        return Check(since, HttpResponse(status=204))  # idle: one query
    token = f"{head}-{_scope_at(request, head, fingerprint)}"
    if since and _minute(since) == _minute(token) and _scope(since) == _scope(token):
        response = HttpResponse(status=204)  # the store moved, not this page
        response[HEADER] = token
        return Check(token, response)
    return Check(token)


# The swapped parts hold no per-reader content (no user, no CSRF token: those are in base.html),
# so a part is the same for every tab showing the same URL at the same token.
RENDER_CACHE_SECONDS = 120
RENDER_CACHE_MAX_BYTES = 1024 * 1024


def _scope_at(request: HttpRequest, head: str, fingerprint: Callable[[], object]) -> str:
    """The page's fingerprint digest, computed once per URL and store version in this process:
    50 tabs of one page that learn of a change cost one fingerprint, not 50. Computed after
    the version was read, so it is never older than the version it is filed under."""
    if not _since(request):  # a page being opened, not polled: nothing to share
        return digest(fingerprint())
    key = "tidewatch:scope:" + digest((request.path, _query(request), head))
    return FLIGHTS.shared(key, lambda: digest(fingerprint()))


def _query(request: HttpRequest) -> list[tuple[str, list[str]]]:
    """The request's parameters without the token: what the page shows depends on them."""
    query = request.GET.copy()
    query.pop("since", None)
    return sorted(query.lists())


def rendered(request: HttpRequest, token: str, render: Callable[[], HttpResponse]) -> HttpResponse:
    """The HTMX part of a page, rendered once per URL and token in this process however many
    tabs ask for it: a change seen by 50 open tabs of the same page costs one render, not 50.
    A token names a store version and what the page showed, so a cached part is never older
    than the token it answers (and the next poll corrects a part rendered a moment later)."""
    if not getattr(request, "htmx", False):
        return render()
    key = "tidewatch:part:" + digest((request.path, _query(request), token))
    made: list[HttpResponse] = []

    def content() -> bytes | None:
        made.append(render())
        response = made[0]
        if response.status_code == 200 and len(response.content) <= RENDER_CACHE_MAX_BYTES:
            return response.content
        return None  # not shared: each tab renders its own (an error page, a huge part)

    hit = FLIGHTS.shared(key, content)
    if made:
        return made[0]
    return HttpResponse(hit) if hit is not None else render()


@dataclass
class Flights:
    """One computation per cache key at a time in this process: when 50 tabs of a page poll
    in the same second after a change, the first computes (fingerprint or render) and the
    others wait for its result instead of all computing it at once. Without this, every tab
    that polled before the first render was cached rendered again, one after the other on the
    GIL, and the last tab saw the change seconds late. Keys are striped over a fixed set of
    locks (a collision only serializes two computations that would share the GIL anyway)."""

    stripes: int = 64
    locks: list[threading.Lock] = field(default_factory=list)
    waiters: dict[str, int] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.locks = [threading.Lock() for _ in range(self.stripes)]

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, else ``compute()``'s, cached when not None."""
        hit = cache.get(key)
        if hit is not None:
            return hit
        lock = self.locks[hash(key) % self.stripes]
        with self.guard:
            self.waiters[key] = self.waiters.get(key, 0) + 1
        with lock:
            with self.guard:
                self._leave(key)
            hit = cache.get(key)  # computed while this one waited
            if hit is not None:
                return hit
            value = compute()
            if value is not None:
                cache.set(key, value, RENDER_CACHE_SECONDS)
            return value

    def _leave(self, key: str) -> None:
        left = self.waiters.get(key, 1) - 1
        if left:
            self.waiters[key] = left
        else:
            self.waiters.pop(key, None)

    def waiting(self) -> int:
        """How many requests wait for another's computation now (tests and debugging)."""
        with self.guard:
            return sum(self.waiters.values())


FLIGHTS = Flights()


def _head(request: HttpRequest) -> str:
    """Version and minute, read once per request."""
    head = getattr(request, "_tidewatch_live_head", None)
    if head is None:
        head = f"{version.current()}-{clock_minute()}"
        request._tidewatch_live_head = head  # type: ignore[attr-defined]
    return head


def clock_minute() -> str:
    """The minute term of a token (tests pin it: a minute ending mid-test is a real change)."""
    return timezone.now().strftime("%Y%m%d%H%M")


def digest(value: object) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()[:16]


def _since(request: HttpRequest) -> str:
    """Only an HTMX poll may be answered 204: a browser navigation always gets the page."""
    if not getattr(request, "htmx", False):
        return ""
    return request.GET.get("since", "")


def _minute(token: str) -> str:
    parts = token.split("-")
    return parts[1] if len(parts) == 3 else ""


def _scope(token: str) -> str:
    parts = token.split("-")
    return parts[2] if len(parts) == 3 else ""


# Fingerprints: what each page shows, in a few index-backed queries, never a render.


def clusters_term(clusters: QuerySet[Cluster], *extra: str) -> list[object]:
    """The cluster cards and stale notices every page carries: each cluster's error state and
    its kinds' states (failing, skipping, counts), in one query (``extra``: annotations to read
    with them). Timestamps are left out: the minute term redraws relative times."""
    return list(
        clusters.order_by("id", "kind_states__id").values_list(
            *("id", "enabled", "config_error", "last_error_reason", "last_error"),
            *("sync_mode", "sync_mode_reason", *extra),
            *("kind_states__id", "kind_states__state", "kind_states__reason"),
            *("kind_states__object_count", "kind_states__skipped_count"),
        )
    )


def _clusters(name: str | None) -> QuerySet[Cluster]:
    clusters = Cluster.objects.all()
    return clusters.filter(name=name) if name else clusters


def overview_fingerprint(cluster: str | None) -> object:
    """The roll-ups (every row's content moves its updated_at), the cluster cards and the
    drifted HelmReleases the overview counts (a release already OutOfSync that drifts, or stops
    drifting, leaves its roll-up as it was; a release joining the set moves its changed_at):
    one query."""
    rollups = NamespaceRollup.objects.filter(cluster=OuterRef("pk")).order_by().values("cluster")
    drifted = drifted_rows().filter(cluster=OuterRef("pk")).order_by().values("cluster")
    clusters = _clusters(cluster).annotate(
        rollup_count=Subquery(rollups.annotate(n=Count("id")).values("n")),
        rollup_at=Subquery(rollups.annotate(at=Max("updated_at")).values("at")),
        drifted_count=Subquery(drifted.annotate(n=Count("id")).values("n")),
        drifted_at=Subquery(drifted.annotate(at=Max("changed_at")).values("at")),
    )
    return clusters_term(clusters, "rollup_count", "rollup_at", "drifted_count", "drifted_at")


def namespace_fingerprint(cluster: str, namespace: str) -> object:
    """The namespace's roll-up, the objects living or deploying there, and its cluster."""
    objects = (
        GitOpsObject.objects.filter(cluster__name=cluster)
        .filter(Q(namespace=namespace) | Q(targets__namespace=namespace))
        .aggregate(n=Count("id", distinct=True), at=Max("changed_at"), top=Max("id"))
    )
    return [
        list(
            NamespaceRollup.objects.filter(cluster__name=cluster, namespace=namespace).values_list(
                "id", "updated_at"
            )
        ),
        objects,
        clusters_term(_clusters(cluster)),
    ]


def object_fingerprint(cluster: str, kind: str, namespace: str, name: str) -> object:
    """The object's row, its newest transition and Event, the violations naming it, the
    objects its page names (parents, children, sources: their status badges), its cluster and
    what argocd-server said of it (an Application's ArgoAppDetail)."""
    row = (
        GitOpsObject.objects.filter(
            cluster__name=cluster, kind=kind, namespace=namespace, name=name
        )
        # What argocd-server said of an Application (its ArgoAppDetail, in the same query by
        # a left join): a good read moves fetched_at, a failure sets error (the page marks the
        # data stale). attempted_at is left out: a retry failing the same way shows nothing new.
        .values_list(
            *("id", "resource_version", "changed_at", "cluster_id"),
            *("argo_detail__fetched_at", "argo_detail__error", "argo_detail__secrets_dropped"),
        )
        .first()
    )
    identity = {"kind": kind, "namespace": namespace, "name": name}
    newest_transition = (
        StatusTransition.objects.filter(cluster__name=cluster, **identity)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if row is None:  # the page says it is gone, and why: its newest transition tells
        return [newest_transition, clusters_term(_clusters(cluster))]
    pk, _, _, cluster_id, *_ = row
    # Events by content, not id: a poll that replaces the cluster's Events gives them new ids.
    events = list(
        Event.objects.filter(
            cluster_id=cluster_id,
            involved_kind=kind,
            involved_namespace=namespace,
            involved_name=name,
        )
        .order_by("uid")
        .values_list("uid", "resource_version")
    )
    key = f"{kind}/{namespace}/{name}"
    # What the header shows of them, not last_seen_at: that moves with every ownership refresh.
    violations = list(
        Violation.objects.filter(cluster_id=cluster_id, object_keys__icontains=key)
        .order_by("id")
        .values_list("id", "code", "severity", "title")[: settings.TIDEWATCH_PAGE_ROWS]
    )
    return [
        row,
        newest_transition,
        events,
        violations,
        _related_term(pk),
        clusters_term(_clusters(cluster)),
        _newest_attempt(cluster, identity),
    ]


def _newest_attempt(cluster: str, identity: dict[str, str]) -> int | None:
    """The newest action attempted on the object (its History lists them); none read while
    actions are off, as the page reads none then."""
    if settings.TIDEWATCH_ACTIONS == "off":
        return None
    return attempts(Identity(cluster, **identity)).values_list("id", flat=True).first()


def _related_term(pk: int) -> Sequence[object]:
    """The related objects as the page reads them (its own query), status and sync only."""
    from dashboard.object_selectors import RelatedObjects, references

    obj = GitOpsObject.objects.defer("raw").get(pk=pk)
    statuses = obj.details.get("applicationStatus") if isinstance(obj.details, dict) else None
    apps = [
        ("Application", obj.namespace, str(item.get("application", "")))
        for item in (statuses if isinstance(statuses, list) else [])
        if isinstance(item, dict)
    ]
    related = RelatedObjects.read(obj, references(obj) + apps)
    return sorted(
        (key, row["status"], row["sync"]) for key, rows in related.rows.items() for row in rows
    )


def search_fingerprint(objects: QuerySet[GitOpsObject]) -> object:
    """The matching objects: how many, the newest change and the newest row. An object that
    leaves the filter lowers the count; one that enters or changes moves the newest change."""
    return objects.aggregate(n=Count("id"), at=Max("changed_at"), top=Max("id"))
