"""Pure: argocd-server's answers → the shapes ArgoAppDetail stores (see its docstring).

``resource-tree`` is an ApplicationTree (``nodes``: ResourceNode with ``parentRefs``, ``health``,
``info``, ``images``); ``managed-resources`` is a ManagedResourcesResponse (``items``:
ResourceDiff, whose states are JSON *strings*). Secrets (core group) are dropped wherever they
appear, before anything of them is parsed, and counted: argocd-server masks their data, Tidewatch
does not keep even that.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str, str]  # group, kind, namespace, name

MAX_TEXT = 1000  # a health message, an info value
MAX_VALUE = 500  # one side of a changed field
MAX_INFO = 20
MAX_IMAGES = 20
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Bookkeeping the API server writes on every object: never part of what Argo CD compares.
IGNORED_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)


def is_secret(group: Any, kind: Any) -> bool:
    return (group or "") == "" and kind == "Secret"


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(entry: dict[str, Any]) -> Key:
    return (
        _text(entry.get("group"), 253),
        _text(entry.get("kind"), 253),
        _text(entry.get("namespace"), 253),
        _text(entry.get("name"), 253),
    )


def _health(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not value.get("status"):
        return None
    return {"status": _text(value.get("status"), 40), "message": _text(value.get("message"))}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# --- resource-tree -------------------------------------------------------------------------------


@dataclass
class Tree:
    health: dict[Key, dict[str, str] | None] = field(default_factory=dict)  # per node identity
    uids: dict[Key, str] = field(default_factory=dict)
    versions: dict[Key, str] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)  # roots and their descendants
    secrets: set[Key] = field(default_factory=set)
    truncated: bool = False


def _node(raw: dict[str, Any], parents: list[str]) -> dict[str, Any]:
    group, kind, namespace, name = _key(raw)
    info = [
        {"name": _text(item.get("name"), 100), "value": _text(item.get("value"))}
        for item in _dicts(raw.get("info"))[:MAX_INFO]
    ]
    images = raw.get("images") if isinstance(raw.get("images"), list) else []
    return {
        "uid": _text(raw.get("uid"), 64),
        "group": group,
        "version": _text(raw.get("version"), 50),
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "parents": parents,
        "health": _health(raw.get("health")),
        "info": info,
        "images": [_text(image, 300) for image in images[:MAX_IMAGES] if isinstance(image, str)],
    }


def parse_tree(answer: Any, managed: set[Key], *, max_nodes: int) -> Tree:
    """Health of every node, and the live tree: the managed resources' nodes (``parents`` [])
    followed by what descends from them (ReplicaSets, Pods ...), parents before children,
    at most ``max_nodes`` nodes. Nodes that descend from a Secret go with it."""
    tree = Tree()
    raw_nodes = _dicts(answer.get("nodes")) if isinstance(answer, dict) else []
    children: dict[str, list[dict[str, Any]]] = {}
    roots: list[dict[str, Any]] = []
    for raw in raw_nodes:
        key = _key(raw)
        if is_secret(key[0], key[1]):
            tree.secrets.add(key)
            continue
        tree.health[key] = _health(raw.get("health"))
        if raw.get("uid"):
            tree.uids[key] = _text(raw.get("uid"), 64)
        if raw.get("version"):
            tree.versions[key] = _text(raw.get("version"), 50)
        refs = _dicts(raw.get("parentRefs"))
        if key in managed:
            roots.append(raw)
        for ref in refs:
            if ref.get("uid") and not is_secret(ref.get("group"), ref.get("kind")):
                children.setdefault(str(ref["uid"]), []).append(raw)
    seen: set[str] = set()
    queue: deque[tuple[dict[str, Any], list[str]]] = deque((raw, []) for raw in roots)
    while queue:
        raw, parents = queue.popleft()
        uid = str(raw.get("uid") or "")
        if uid and uid in seen:
            continue
        if len(tree.nodes) >= max_nodes:
            tree.truncated = True
            break
        if uid:
            seen.add(uid)
        tree.nodes.append(_node(raw, parents))
        for child in children.get(uid, []) if uid else []:
            if _key(child) in managed:
                continue  # a managed resource is a root of its own
            child_parents = [
                str(ref["uid"])
                for ref in _dicts(child.get("parentRefs"))
                if ref.get("uid") in seen or ref.get("uid") == uid
            ]
            queue.append((child, child_parents))
    return tree


# --- managed-resources ---------------------------------------------------------------------------


@dataclass
class Diffs:
    modified: dict[Key, bool] = field(default_factory=dict)
    diffs: dict[Key, tuple[list[dict[str, Any]], bool]] = field(default_factory=dict)
    order: list[Key] = field(default_factory=list)
    secrets: set[Key] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)  # "Kind ns/name" whose state is not JSON


def _state(text: Any) -> Any:
    """A ResourceDiff state: a JSON string ("" or "null" when the side does not exist)."""
    if text in (None, "", "null"):
        return None
    if not isinstance(text, str):
        raise ValueError("not a string")
    return json.loads(text)


def comparable(obj: Any) -> Any:
    """The object as Argo CD's diff shows it: without status and the API server's bookkeeping
    (managedFields, resourceVersion, uid, generation, creationTimestamp, last-applied)."""
    if not isinstance(obj, dict):
        return obj
    out = {k: v for k, v in obj.items() if k != "status"}
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        metadata = {k: v for k, v in metadata.items() if k not in IGNORED_METADATA}
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
            if annotations:
                metadata["annotations"] = annotations
            else:
                metadata.pop("annotations")
        out["metadata"] = metadata
    return out


def _segment(path: str, key: str) -> str:
    plain = key.replace("-", "").replace("_", "").isalnum()
    if plain and not key[:1].isdigit():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _leaves(value[key], _segment(path, str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


_ABSENT = object()


def _walk(live: Any, target: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, live, target) for every leaf that differs; _ABSENT for a side without it."""
    if isinstance(live, dict) and isinstance(target, dict) and (live or target):
        for key in sorted(set(live) | set(target), key=str):
            yield from _walk(
                live.get(key, _ABSENT), target.get(key, _ABSENT), _segment(path, str(key))
            )
        return
    if isinstance(live, list) and isinstance(target, list) and (live or target):
        for index in range(max(len(live), len(target))):
            yield from _walk(
                live[index] if index < len(live) else _ABSENT,
                target[index] if index < len(target) else _ABSENT,
                f"{path}[{index}]",
            )
        return
    if live is _ABSENT:
        for leaf, value in _leaves(target, path):
            yield leaf, _ABSENT, value
        return
    if target is _ABSENT:
        for leaf, value in _leaves(live, path):
            yield leaf, value, _ABSENT
        return
    if live != target:
        yield path, live, target


def _shown(value: Any, quoted: bool = False) -> str | None:
    if value is _ABSENT:
        return None
    plain = isinstance(value, str) and not quoted
    text = value if plain else json.dumps(value, sort_keys=True)
    return _text(text, MAX_VALUE)


def field_diff(live: Any, target: Any, *, max_fields: int) -> tuple[list[dict[str, Any]], bool]:
    """The changed fields from ``live`` to ``target`` (what a sync would change), at most
    ``max_fields``, and whether more were left out. ``None`` for a side that does not exist."""
    live = _ABSENT if live is None else comparable(live)
    target = _ABSENT if target is None else comparable(target)
    changes: list[dict[str, Any]] = []
    for path, old, new in _walk(live, target, ""):
        if len(changes) >= max_fields:
            return changes, True
        change = "added" if old is _ABSENT else "removed" if new is _ABSENT else "changed"
        # "1" and 1 would read alike: values of two types are both shown as JSON.
        quoted = change == "changed" and type(old) is not type(new)
        changes.append(
            {
                "path": path or "(whole object)",
                "change": change,
                "live": _shown(old, quoted),
                "target": _shown(new, quoted),
            }
        )
    return changes, False


def parse_managed(answer: Any, *, max_fields: int) -> Diffs:
    """Per managed resource: whether Argo CD finds it modified and, if so, the field diff of
    normalizedLiveState against predictedLiveState (targetState when there is no prediction),
    as argocd-server's own diff view compares them. Hooks are not managed resources."""
    diffs = Diffs()
    items = _dicts(answer.get("items")) if isinstance(answer, dict) else []
    for item in items:
        key = _key(item)
        if is_secret(key[0], key[1]):
            diffs.secrets.add(key)  # never parsed: not even masked data is kept
            continue
        if item.get("hook"):
            continue
        if key not in diffs.modified:
            diffs.order.append(key)
        modified = item.get("modified") is True
        diffs.modified[key] = modified
        if not modified:
            continue
        try:
            live = _state(item.get("normalizedLiveState") or item.get("liveState"))
            target = _state(item.get("predictedLiveState") or item.get("targetState"))
        except ValueError:
            diffs.unreadable.append(f"{key[1]} {key[2]}/{key[3]}".replace(" /", " "))
            continue
        diffs.diffs[key] = field_diff(live, target, max_fields=max_fields)
    return diffs


# --- together ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    resources: list[dict[str, Any]]
    tree: list[dict[str, Any]]
    secrets_dropped: int
    tree_truncated: bool


def app_resources(raw_app: Any) -> list[dict[str, Any]]:
    """The Application's status.resources (what it manages, with each one's sync status)."""
    status = raw_app.get("status") if isinstance(raw_app, dict) else None
    return _dicts(status.get("resources")) if isinstance(status, dict) else []


def build_detail(
    listed: list[dict[str, Any]],
    tree_answer: Any,
    managed_answer: Any,
    *,
    max_nodes: int,
    max_fields: int,
) -> Detail:
    """ArgoAppDetail's ``resources``/``tree``/``secrets_dropped`` from the Application's
    status.resources (``listed``) and the two answers."""
    secrets: set[Key] = set()
    order: list[Key] = []
    sync: dict[Key, str] = {}
    versions: dict[Key, str] = {}
    for entry in listed:
        key = _key(entry)
        if is_secret(key[0], key[1]):
            secrets.add(key)
            continue
        if key not in sync:
            order.append(key)
        sync[key] = _text(entry.get("status"), 20)
        versions[key] = _text(entry.get("version"), 50)
    diffs = parse_managed(managed_answer, max_fields=max_fields)
    for key in diffs.order:
        if key not in sync:
            order.append(key)
            sync[key] = "OutOfSync" if diffs.modified[key] else "Synced"
    tree = parse_tree(tree_answer, set(order), max_nodes=max_nodes)
    resources = []
    for key in order:
        group, kind, namespace, name = key
        diff, truncated = diffs.diffs.get(key, (None, False))
        entry: dict[str, Any] = {
            "group": group,
            "version": versions.get(key) or tree.versions.get(key, ""),
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "sync": sync[key] if sync[key] in ("Synced", "OutOfSync") else "",
            "health": tree.health.get(key),
            "diff": diff,
            "diffTruncated": truncated,
        }
        if key in tree.uids:
            entry["uid"] = tree.uids[key]  # the tree's nodes name their parents by uid
        resources.append(entry)
    return Detail(
        resources=resources,
        tree=tree.nodes,
        secrets_dropped=len(secrets | diffs.secrets | tree.secrets),
        tree_truncated=tree.truncated,
    )
