"""What an OpenID provider's claims mean to Tidewatch: the username, the groups, the roles.
Pure functions; dashboard/oidc.py applies them at each sign-in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

OPERATOR = "operator"
VIEWER = "viewer"
# Django's User.username column.
MAX_USERNAME_LENGTH = 150
# A group name longer than this is not kept (Kubernetes would refuse such a header anyway).
MAX_GROUP_LENGTH = 256


def username_from_claims(claims: Mapping[str, object], claim: str) -> str:
    """The configured claim, else email, else sub; "" when none is a usable string."""
    for key in (claim, "email", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def groups_from_claims(
    claims: Mapping[str, object], claim: str, limit: int | None = None
) -> list[str]:
    """The groups claim as a list of distinct strings, in the provider's order, at most
    ``limit``. A single string counts as one group; anything else in it is ignored."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    groups: list[str] = []
    for item in value:
        if isinstance(item, str) and item and len(item) <= MAX_GROUP_LENGTH and item not in groups:
            groups.append(item)
            if limit is not None and len(groups) >= limit:
                break
    return groups


def roles_for_groups(
    groups: Iterable[str],
    operator_groups: Iterable[str],
    viewer_groups: Iterable[str],
    default_role: str,
) -> set[str]:
    """The Tidewatch roles the claim's groups map to; none mapped → {default_role}, or the empty
    set (refused) when that is "none"."""
    present = set(groups)
    roles = set()
    if present & set(operator_groups):
        roles.add(OPERATOR)
    if present & set(viewer_groups):
        roles.add(VIEWER)
    if not roles and default_role == VIEWER:
        roles.add(VIEWER)
    return roles
