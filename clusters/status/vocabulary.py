"""The one status vocabulary shared by Flux and Argo CD records.

Order matters: every roll-up (namespace, cluster, chain) takes the *worst* member, so the
order is the contract. Worst first:

    Degraded > Missing > Unknown > Progressing > Suspended > Healthy

Unknown ranks above Progressing (Argo CD ranks it last) because a dashboard that cannot read an
object must not let it hide behind a healthy neighbour: "we cannot tell" is a reason to look.
Suspended ranks above Healthy because a suspended object is no longer being reconciled, so its
green is an old observation.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Tool(StrEnum):
    FLUX = "flux"
    ARGOCD = "argocd"


class Status(StrEnum):
    DEGRADED = "Degraded"
    MISSING = "Missing"
    UNKNOWN = "Unknown"
    PROGRESSING = "Progressing"
    SUSPENDED = "Suspended"
    HEALTHY = "Healthy"

    @property
    def rank(self) -> int:
        """0 is worst."""
        return STATUS_ORDER.index(self)


STATUS_ORDER: tuple[Status, ...] = (
    Status.DEGRADED,
    Status.MISSING,
    Status.UNKNOWN,
    Status.PROGRESSING,
    Status.SUSPENDED,
    Status.HEALTHY,
)


class Sync(StrEnum):
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"
    SYNCED = "Synced"
    # Sources, notification objects, AppProjects: there is nothing to be in sync with.
    NOT_APPLICABLE = "NotApplicable"


SYNC_ORDER: tuple[Sync, ...] = (Sync.OUT_OF_SYNC, Sync.UNKNOWN, Sync.SYNCED, Sync.NOT_APPLICABLE)


def worst_status(statuses: Iterable[Status | str]) -> Status | None:
    """Worst status of many, None for none."""
    found = [Status(s) for s in statuses]
    return min(found, key=STATUS_ORDER.index) if found else None


def worst_sync(syncs: Iterable[Sync | str]) -> Sync | None:
    """Worst sync of many, ignoring NotApplicable unless that is all there is."""
    found = [Sync(s) for s in syncs]
    if not found:
        return None
    return min(found, key=SYNC_ORDER.index)
