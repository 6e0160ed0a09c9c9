"""Change tokens: an open page asks "anything new since <token>?" and gets 204 when not.

The token travels with the refresh request (in the polling URL, or a hidden input the swapped
fragment carries), so it needs no JavaScript, and an idle dashboard costs a few index-backed
aggregates per refresh instead of a full render. It covers the whole store, which is
conservative: any change anywhere re-renders, nothing that changed is ever missed. The current
minute is part of it because relative times ("2 min ago") and staleness move with the clock
even when the store does not.
"""

from __future__ import annotations

import hashlib

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from clusters.models import (
    Cluster,
    Event,
    GitOpsObject,
    KindState,
    NamespaceRollup,
    StatusTransition,
)


def change_token() -> str:
    """Three queries: one statement of index-backed scalar subqueries over the tables pages
    show, the failing kinds (and those skipping objects), and the clusters' error states.
    Violations need no term of their own: they change the roll-ups' violation codes, hence
    their updated_at."""
    parts = [
        _aggregates(),
        sorted(
            KindState.objects.filter(Q(state=KindState.ERROR) | Q(skipped_count__gt=0)).values_list(
                "cluster_id", "kind", "reason", "skipped_count"
            )
        ),
        list(
            Cluster.objects.order_by("id").values_list(
                "id",
                "enabled",
                "config_error",
                "last_error_reason",
                "sync_mode",
                "sync_mode_reason",
            )
        ),
        timezone.now().strftime("%Y%m%d%H%M"),
    ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def _aggregates() -> tuple[object, ...]:
    objects = GitOpsObject._meta.db_table
    transitions = StatusTransition._meta.db_table
    events = Event._meta.db_table
    rollups = NamespaceRollup._meta.db_table
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {objects}), (SELECT MAX(changed_at) FROM {objects}), "
        f"(SELECT MAX(id) FROM {transitions}), (SELECT MAX(id) FROM {events}), "
        f"(SELECT COUNT(*) FROM {rollups}), (SELECT MAX(updated_at) FROM {rollups})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def unchanged(request: object, token: str) -> bool:
    """True for an HTMX refresh whose ``since`` is still current: answer 204, render nothing."""
    htmx = getattr(request, "htmx", False)
    return bool(htmx) and request.GET.get("since") == token  # type: ignore[attr-defined]
