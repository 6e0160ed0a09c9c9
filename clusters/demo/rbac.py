"""What an impersonated user may do in the demo cluster: a small, fixed RBAC rule set.

The demo's token holder may impersonate anyone (as a cluster admin can). A request that carries
``Impersonate-User`` is then authorised as that user, in the ``Impersonate-Group`` groups (one
header line per group) plus ``system:authenticated``, as the API server does, against
``DEMO_GRANTS``; a denial is the API server's 403 Status with the impersonated user's name.
Requests without impersonation headers are not affected.

The grants tell the demo's story (README "RBAC for actions"): the demo operator may act on the
Big Bang packages and the Argo CD Applications, but not on flux-system, which belongs to the
platform team, so the dashboard can show a denial by the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEMO_OPERATOR = "demo-operator"
DEMO_OPERATORS_GROUP = "tidewatch-demo-operators"
AUTHENTICATED = "system:authenticated"
ANY = "*"

FLUX_GROUPS = (
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
)
ARGO_GROUPS = ("argoproj.io",)


@dataclass(frozen=True)
class Grant:
    """One rule bound to users and groups; ``namespaces`` empty: every namespace (a
    ClusterRoleBinding), else a RoleBinding in each of them."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = (ANY,)
    resources: tuple[str, ...] = (ANY,)  # "kustomizations", "kustomizations/status", "*"
    namespaces: tuple[str, ...] = ()
    non_resource: bool = False  # discovery, /version: paths, not resources


DEMO_GRANTS: tuple[Grant, ...] = (
    # Everyone signed in may read (the dashboard reads the object before acting) and discover.
    Grant(groups=(AUTHENTICATED,), verbs=("get", "list", "watch")),
    Grant(groups=(AUTHENTICATED,), verbs=("get",), non_resource=True),
    # The demo operators act on Flux and Argo CD objects in these namespaces only.
    Grant(
        groups=(DEMO_OPERATORS_GROUP,),
        verbs=("patch",),
        api_groups=FLUX_GROUPS + ARGO_GROUPS,
        namespaces=("bigbang", "argocd"),
    ),
)


def allowed(
    user: str,
    groups: Sequence[str],
    verb: str,
    api_group: str,
    resource: str,
    namespace: str | None,
    grants: Sequence[Grant] = DEMO_GRANTS,
) -> bool:
    """Whether any grant lets ``user`` (in ``groups``) do ``verb`` on ``resource``.

    ``resource`` is the plural, with ``/subresource`` when there is one; "" for a path that is
    not a resource (discovery)."""
    for grant in grants:
        if user not in grant.users and not set(groups) & set(grant.groups):
            continue
        if verb not in grant.verbs and ANY not in grant.verbs:
            continue
        if grant.non_resource:
            if not resource:
                return True
            continue
        if not resource:
            continue
        if api_group not in grant.api_groups and ANY not in grant.api_groups:
            continue
        if resource not in grant.resources and ANY not in grant.resources:
            continue  # "*" matches subresources too, as in RBAC
        if grant.namespaces and namespace not in grant.namespaces:
            continue
        return True
    return False
