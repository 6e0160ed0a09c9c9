"""What argocd-server says of an Application, as the object page and the JSON API show it.

The worker stores it in ``ArgoAppDetail`` (clusters/models.py: the shapes of ``resources`` and
``tree``); this module only reads one row and turns it into view models. Pure apart from
``read_detail`` (one query). Secrets are dropped here again, whatever the row holds: the worker
never stores them, and a row written by an older or buggy worker must not show one either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from clusters.argocd_server import parse
from clusters.models import ArgoAppDetail, GitOpsObject
from clusters.status.vocabulary import Status
from dashboard.templatetags.tidewatch import STATUS_STYLE

NOT_CONFIGURED = "not-configured"  # the cluster's clusters.yaml entry names no argocd-server
PENDING = "pending"  # a server is configured, but neither a good read nor a failure yet
ERROR = "error"  # the last read failed: the last good data (if any) is shown, stale
OK = "ok"

DOCS = "docs/argocd-server.md"
UNHEALTHY = (Status.DEGRADED.value, Status.MISSING.value, Status.UNKNOWN.value)
CHANGE_LABELS = {"changed": "changed", "added": "added", "removed": "removed"}
ResourceKey = tuple[str, str, str, str]  # group, kind, namespace, name


def is_secret(item: dict[str, Any]) -> bool:
    """A core Secret, the one kind Tidewatch never shows: the worker's own test, applied again
    to what a row holds."""
    return parse.is_secret(item.get("group"), item.get("kind"))


def key_of(item: dict[str, Any]) -> ResourceKey:
    return (
        str(item.get("group") or ""),
        str(item.get("kind") or ""),
        str(item.get("namespace") or ""),
        str(item.get("name") or ""),
    )


@dataclass(frozen=True)
class Health:
    status: str
    message: str
    icon: str
    tone: str

    @property
    def unhealthy(self) -> bool:
        return self.status in UNHEALTHY


def health_of(value: Any) -> Health | None:
    if not isinstance(value, dict) or not value.get("status"):
        return None
    status = str(value["status"])
    icon, tone = STATUS_STYLE.get(status, ("?", "warn"))
    return Health(status, str(value.get("message") or ""), icon, tone)


@dataclass(frozen=True)
class DiffLine:
    path: str
    change: str  # "changed", "added" or "removed"
    live: str | None  # None: the side has no such field (the live side of "added" ...)
    target: str | None  # ... and the target side of "removed"); "" is an empty value


@dataclass
class TreeNode:
    """A live node below a managed resource, with its depth (1 = a direct child)."""

    kind: str
    namespace: str
    name: str
    depth: int
    health: Health | None
    info: list[tuple[str, str]]
    images: list[str]

    @property
    def indent(self) -> int:
        """The CSS indent step (obj-tree__node--d1..d4): deeper nodes stay at the fourth."""
        return min(self.depth, 4)


@dataclass
class ResourceDetail:
    """argocd-server's word on one managed resource."""

    key: ResourceKey
    sync: str
    health: Health | None
    diff: list[DiffLine] | None
    diff_truncated: bool
    tree: list[TreeNode] = field(default_factory=list)
    tree_total: int = 0  # nodes below it, before the display cap

    @property
    def tree_unhealthy(self) -> int:
        return sum(1 for node in self.tree if node.health and node.health.unhealthy)

    @property
    def tree_summary(self) -> str:
        """ "1 ReplicaSet, 3 Pods" over the shown nodes."""
        counts: dict[str, int] = {}
        for node in self.tree:
            counts[node.kind] = counts.get(node.kind, 0) + 1
        return ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items())

    @property
    def tree_cut(self) -> bool:
        return self.tree_total > len(self.tree)


@dataclass
class ServerView:
    """The Application's argocd-server detail: its state and, per managed resource, what it
    said at the last good read."""

    state: str
    reason: str
    fetched_at: datetime | None
    attempted_at: datetime | None
    secrets_dropped: int
    resources: dict[ResourceKey, ResourceDetail]

    @property
    def has_data(self) -> bool:
        return self.fetched_at is not None

    @property
    def unhealthy(self) -> list[ResourceDetail]:
        """Managed resources argocd-server calls unhealthy, worst first."""
        rank = {status.value: status.rank for status in Status}
        bad = [r for r in self.resources.values() if r.health and r.health.unhealthy]
        return sorted(bad, key=lambda r: (rank.get(r.health.status, 9) if r.health else 9, r.key))

    @property
    def drifted(self) -> int:
        return sum(1 for r in self.resources.values() if r.diff)

    def get(self, group: str, kind: str, namespace: str, name: str) -> ResourceDetail | None:
        return self.resources.get((group, kind, namespace, name))


def read_detail(obj: GitOpsObject) -> ArgoAppDetail | None:
    """The one query: the Application's row, None for any other kind or when there is none."""
    if obj.tool != "argocd" or obj.kind != "Application":
        return None
    return ArgoAppDetail.objects.filter(obj=obj).first()


def server_view(obj: GitOpsObject, row: ArgoAppDetail | None) -> ServerView | None:
    """None for objects argocd-server says nothing about (anything but an Application)."""
    if obj.tool != "argocd" or obj.kind != "Application":
        return None
    if row is None:
        # The cluster's entry names a server (clusters.yaml ``argocd:``) or it does not: the
        # page can say which, since the worker writes a row only after it read or failed.
        if obj.cluster.argocd:
            return ServerView(PENDING, NOT_READ_YET, None, None, 0, {})
        return ServerView(NOT_CONFIGURED, not_configured_reason(), None, None, 0, {})
    items = (
        [r for r in row.resources if isinstance(r, dict)] if isinstance(row.resources, list) else []
    )
    nodes = [n for n in row.tree if isinstance(n, dict)] if isinstance(row.tree, list) else []
    secrets = [r for r in items if is_secret(r)]
    # A Secret's state never reached the row from a sound worker; counted if one did.
    dropped = (row.secrets_dropped or 0) + len(secrets)
    resources = {}
    for item in items:
        if is_secret(item):
            continue
        detail = resource_detail(item)
        resources[detail.key] = detail
    attach_trees(
        resources, [n for n in nodes if not is_secret(n)], settings.TIDEWATCH_PAGE_TREE_NODES
    )
    if row.error:
        state, reason = ERROR, row.error
    elif row.fetched_at is None:
        state, reason = PENDING, NOT_READ_YET
    else:
        state, reason = OK, ""
    return ServerView(state, reason, row.fetched_at, row.attempted_at, dropped, resources)


NOT_READ_YET = "argocd-server has not been read for this Application yet"


def not_configured_reason() -> str:
    return f"no Argo CD server is configured for this cluster ({DOCS})"


def resource_detail(item: dict[str, Any]) -> ResourceDetail:
    diff_items = item.get("diff")
    diff = None
    if isinstance(diff_items, list):
        diff = [diff_line(d) for d in diff_items if isinstance(d, dict)]
    return ResourceDetail(
        key=key_of(item),
        sync=str(item.get("sync") or ""),
        health=health_of(item.get("health")),
        diff=diff,
        diff_truncated=bool(item.get("diffTruncated")),
    )


def diff_line(item: dict[str, Any]) -> DiffLine:
    change = str(item.get("change") or "changed")
    # The worker writes None for an absent side; which side is absent also follows from the
    # change word, so an added field's empty value ("") is never taken for an absent one.
    return DiffLine(
        path=str(item.get("path") or ""),
        change=CHANGE_LABELS.get(change, change),
        live=None if change == "added" else _value(item.get("live")),
        target=None if change == "removed" else _value(item.get("target")),
    )


def _value(value: Any) -> str | None:
    return None if value is None else str(value)


def attach_trees(
    resources: dict[ResourceKey, ResourceDetail], nodes: list[dict[str, Any]], cap: int
) -> None:
    """Hang each live node under the managed resource it descends from.

    A node names its parents by uid. The managed resources' own nodes (argocd-server's tree
    holds them) give the roots; a managed resource whose node is missing has no tree. A node
    that descends from two managed resources is shown under both; a cycle is walked once."""
    by_uid: dict[str, dict[str, Any]] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        uid = str(node.get("uid") or "")
        if uid:
            by_uid[uid] = node
        for parent in _parents(node):
            children.setdefault(parent, []).append(node)
    roots: dict[ResourceKey, list[str]] = {}
    for uid, node in by_uid.items():
        if key_of(node) in resources:
            roots.setdefault(key_of(node), []).append(uid)
    for key, uids in roots.items():
        detail = resources[key]
        if detail.health is None:  # the tree's health of the resource itself
            detail.health = health_of(by_uid[uids[0]].get("health"))
        shown, total = _walk(uids, children, cap)
        detail.tree, detail.tree_total = shown, total


def _parents(node: dict[str, Any]) -> list[str]:
    parents = node.get("parents")
    if not isinstance(parents, list):
        return []
    uids = []
    for parent in parents:
        if isinstance(parent, str):
            uids.append(parent)
        elif isinstance(parent, dict) and parent.get("uid"):  # Argo CD's own parentRefs form
            uids.append(str(parent["uid"]))
    return uids


def _walk(
    roots: Iterable[str], children: dict[str, list[dict[str, Any]]], cap: int
) -> tuple[list[TreeNode], int]:
    """Depth first (a node, then its children), unhealthy siblings first; each node once (a
    node with two parents, or a cycle); ``cap`` nodes shown, all counted. Iterative: a chain
    of parents in a hostile row must not exhaust the stack."""
    seen = set(roots)
    shown: list[TreeNode] = []
    total = 0
    stack: list[tuple[dict[str, Any], int]] = []
    for root in sorted(seen, reverse=True):
        stack.extend(_unseen(root, children, seen, 1))
    while stack:
        node, depth = stack.pop()
        total += 1
        if len(shown) < cap:
            shown.append(tree_node(node, depth))
        stack.extend(_unseen(str(node.get("uid") or ""), children, seen, depth + 1))
    return shown, total


def _unseen(
    uid: str, children: dict[str, list[dict[str, Any]]], seen: set[str], depth: int
) -> list[tuple[dict[str, Any], int]]:
    """The children of ``uid`` not yet laid out, marked seen, in reverse order (a stack pops
    them in order)."""
    kids = []
    for kid in sorted(children.get(uid, []) if uid else [], key=_sibling_order):
        kid_uid = str(kid.get("uid") or "") or f"anon:{id(kid)}"
        if kid_uid not in seen:
            seen.add(kid_uid)
            kids.append((kid, depth))
    kids.reverse()
    return kids


def _sibling_order(node: dict[str, Any]) -> tuple[int, str, str]:
    health = health_of(node.get("health"))
    bad = 0 if health and health.unhealthy else 1
    return (bad, str(node.get("kind") or ""), str(node.get("name") or ""))


def tree_node(node: dict[str, Any], depth: int) -> TreeNode:
    info = node.get("info")
    images = node.get("images")
    return TreeNode(
        kind=str(node.get("kind") or ""),
        namespace=str(node.get("namespace") or ""),
        name=str(node.get("name") or ""),
        depth=depth,
        health=health_of(node.get("health")),
        info=[
            (str(i.get("name") or ""), str(i.get("value") or ""))
            for i in (info if isinstance(info, list) else [])
            if isinstance(i, dict) and i.get("name")
        ],
        images=[str(i) for i in (images if isinstance(images, list) else []) if i],
    )
