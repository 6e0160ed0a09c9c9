"""What the API tells about one object over time: its status transitions and its Events.

Both are read by identity (cluster, kind, namespace, name), not by foreign key, so the history
of a deleted or recreated object is still there; ``kind`` matches case-insensitively, as the
rest of the API does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from clusters.models import Event, GitOpsObject, StatusTransition
from dashboard.models import ActionAttempt


@dataclass
class Identity:
    cluster: str
    kind: str
    namespace: str
    name: str

    def stored(self) -> GitOpsObject | None:
        return (
            GitOpsObject.objects.filter(
                cluster__name=self.cluster,
                kind__iexact=self.kind,
                namespace=self.namespace,
                name=self.name,
            )
            .order_by("group")
            .only("id", "group", "kind")
            .first()
        )


def transitions(who: Identity) -> QuerySet[StatusTransition] | None:
    """Newest first; None when Tidewatch never saw the object (no row, no history)."""
    obj = who.stored()
    rows = StatusTransition.objects.filter(
        cluster__name=who.cluster, kind__iexact=who.kind, namespace=who.namespace, name=who.name
    )
    if obj is not None:
        rows = rows.filter(group=obj.group)
    rows = rows.order_by("-at", "-id")
    if obj is None and not rows.exists():
        return None
    return rows


def events(who: Identity) -> QuerySet[Event] | None:
    """Newest first; None when the object is not stored and no Event names it."""
    obj = who.stored()
    rows = Event.objects.filter(
        cluster__name=who.cluster,
        involved_kind__iexact=who.kind,
        involved_namespace=who.namespace,
        involved_name=who.name,
    )
    if obj is not None:
        # Events name their object by apiVersion; older ones carry no group at all.
        rows = rows.filter(Q(involved_group=obj.group) | Q(involved_group=""))
    rows = rows.order_by("-last_seen", "-id")
    if obj is None and not rows.exists():
        return None
    return rows


def attempts(who: Identity) -> QuerySet[ActionAttempt]:
    """The actions attempted on the object, newest first (audit rows keep names, not keys)."""
    return ActionAttempt.objects.filter(
        cluster=who.cluster, kind__iexact=who.kind, namespace=who.namespace, name=who.name
    ).order_by("-created_at", "-id")
