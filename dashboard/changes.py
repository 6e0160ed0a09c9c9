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

from django.db.models import Count, Max
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
    """Six index-backed queries. Violations need no term of their own: they change the
    roll-ups' violation codes, hence their updated_at."""
    parts = [
        GitOpsObject.objects.aggregate(n=Count("id"), at=Max("changed_at")),
        StatusTransition.objects.aggregate(last=Max("id")),
        Event.objects.aggregate(last=Max("id")),
        NamespaceRollup.objects.aggregate(n=Count("id"), at=Max("updated_at")),
        sorted(
            KindState.objects.filter(state=KindState.ERROR).values_list(
                "cluster_id", "kind", "reason"
            )
        ),
        list(
            Cluster.objects.order_by("id").values_list(
                "id", "enabled", "config_error", "last_error_reason"
            )
        ),
        timezone.now().strftime("%Y%m%d%H%M"),
    ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def unchanged(request: object, token: str) -> bool:
    """True for an HTMX refresh whose ``since`` is still current: answer 204, render nothing."""
    htmx = getattr(request, "htmx", False)
    return bool(htmx) and request.GET.get("since") == token  # type: ignore[attr-defined]
