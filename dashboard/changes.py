"""Change tokens: an open page asks "anything new since <token>?" and gets 204 when not.

The token is the polling URL's own query parameter, re-rendered with each swap, so it needs no
JavaScript and an idle dashboard costs a few indexed aggregate queries per refresh instead of a
full render. The current minute is part of it: relative times ("2 min ago") and staleness
move with the clock even when the store does not.
"""

from __future__ import annotations

import hashlib

from django.db.models import Count, Max
from django.utils import timezone

from clusters.models import Cluster, KindState, NamespaceRollup


def overview_token(cluster: str | None = None) -> str:
    rollups = NamespaceRollup.objects.all()
    states = KindState.objects.filter(state=KindState.ERROR)
    clusters = Cluster.objects.all()
    if cluster:
        rollups = rollups.filter(cluster__name=cluster)
        states = states.filter(cluster__name=cluster)
        clusters = clusters.filter(name=cluster)
    parts = [
        str(rollups.aggregate(n=Count("id"), at=Max("updated_at"))),
        repr(sorted(states.values_list("cluster_id", "kind", "reason"))),
        repr(
            list(
                clusters.order_by("id").values_list(
                    "id", "enabled", "config_error", "last_error_reason"
                )
            )
        ),
        timezone.now().strftime("%Y%m%d%H%M"),
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
