"""Tidewatch roles (viewer, operator) from Django group membership, and the Kubernetes identity
a signed-in user acts as when actions run in ``impersonate`` mode.

Group names come from settings (TIDEWATCH_OPERATOR_GROUP, TIDEWATCH_VIEWER_GROUP), so an OIDC
groups claim or an admin can put users in them; superusers are operators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest

log = logging.getLogger("tidewatch.actions")
Role = Literal["operator", "viewer"]
SESSION_KUBE_GROUPS = "tidewatch_kube_groups"
# Groups the API server reserves for its own components and for what it adds itself
# (system:authenticated): never sent, whatever the identity provider's groups claim says.
SYSTEM_PREFIX = "system:"


@dataclass(frozen=True)
class KubeIdentity:
    """Who the cluster is told the request is for (Impersonate-User / Impersonate-Group)."""

    username: str
    groups: tuple[str, ...]


def _group_names(user: Any) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def role_of(user: Any) -> Role | None:
    """The user's Tidewatch role; None for anonymous users and users in neither group."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return "operator"
    names = _group_names(user)
    if settings.TIDEWATCH_OPERATOR_GROUP in names:
        return "operator"
    if settings.TIDEWATCH_VIEWER_GROUP in names:
        return "viewer"
    return None


def can_operate(user: Any) -> bool:
    return role_of(user) == "operator"


def kube_identity(request: HttpRequest) -> KubeIdentity:
    """The signed-in user's name and the groups the identity provider gave at login (stored in
    the session). ``system:`` groups are dropped: the API server adds ``system:authenticated``
    to an impersonated user itself, and a claim must never borrow ``system:masters``."""
    groups: list[str] = []
    for group in request.session.get(SESSION_KUBE_GROUPS, []) or []:
        if not isinstance(group, str) or not group or group in groups:
            continue
        if group.startswith(SYSTEM_PREFIX):
            log.warning("group %r from the identity provider is not impersonated", group)
            continue
        groups.append(group)
    return KubeIdentity(username=request.user.get_username(), groups=tuple(groups))
