"""Tidewatch roles as Django groups: their names, putting a user in exactly the ones a sign-in
maps to, and the role the user menu shows.

The group names are the settings dashboard/roles.py reads (TIDEWATCH_OPERATOR_GROUP,
TIDEWATCH_VIEWER_GROUP), with the same defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Group
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.oidc_claims import OPERATOR, VIEWER


def role_group_names() -> dict[str, str]:
    """Tidewatch role → the Django group that grants it."""
    return {
        OPERATOR: getattr(settings, "TIDEWATCH_OPERATOR_GROUP", "tidewatch-operators"),
        VIEWER: getattr(settings, "TIDEWATCH_VIEWER_GROUP", "tidewatch-viewers"),
    }


def set_role_groups(user: AbstractBaseUser, roles: Iterable[str]) -> None:
    """Make the user a member of exactly the Tidewatch groups for ``roles``; other groups the
    user is in are left alone."""
    names = role_group_names()
    wanted = {names[role] for role in roles}
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in names.values()}
    user.groups.remove(*(group for name, group in groups.items() if name not in wanted))
    user.groups.add(*(group for name, group in groups.items() if name in wanted))


def role_label(user: AbstractBaseUser) -> str:
    """ "operator", "viewer" or "" from the user's Tidewatch groups (one query)."""
    if not user.is_authenticated:
        return ""
    names = role_group_names()
    member_of = set(user.groups.filter(name__in=names.values()).values_list("name", flat=True))
    for role in (OPERATOR, VIEWER):
        if names[role] in member_of:
            return role
    return ""


def identity(request: HttpRequest) -> dict[str, object]:
    """Template context: ``tidewatch_role`` for the user menu, read only when a page shows it."""
    return {"tidewatch_role": SimpleLazyObject(lambda: role_label(request.user))}
