"""What stands above a claiming object: who applied it, and where it came from.

Edges go *up* through ``parent`` (the Kustomization/HelmRelease or app-of-apps/ApplicationSet that
applied the object), ``helmchart`` and ``source`` relations. Real graphs have cycles (the Flux
bootstrap Kustomization ``flux-system`` carries owner labels naming itself) and references to
objects Tidewatch never saw, so every walk keeps a visited set and hard limits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from clusters.ownership.inputs import GitOpsObject, object_key

MAX_DEPTH = 12
MAX_LINKS = 40


@dataclass(frozen=True)
class ChainLink:
    key: str
    kind: str
    namespace: str
    name: str
    tool: str  # "" when the object was not observed
    relation: str  # "claims" for the claiming object itself, else parent|helmchart|source
    below: str | None  # key of the object this one stands above
    depth: int
    present: bool  # False: referenced but not observed (dangling edge)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChainIndex:
    """Memoized chains over one set of objects (one analysis run)."""

    def __init__(self, objects: Mapping[str, GitOpsObject]) -> None:
        self._objects = objects
        self._chains: dict[str, list[ChainLink]] = {}
        self._lineages: dict[str, list[str]] = {}

    def chain(self, key: str) -> list[ChainLink]:
        """Breadth-first walk up from ``key`` (included, depth 0), parents before sources."""
        if key not in self._chains:
            self._chains[key] = self._walk(key)
        return self._chains[key]

    def lineage(self, key: str) -> list[str]:
        """The single line a sentence can show: ``key``, its parents up to the root, then the
        root's source (e.g. HelmRelease argocd <- HelmRelease bigbang <- ... <- GitRepository)."""
        if key not in self._lineages:
            self._lineages[key] = self._line(key)
        return self._lineages[key]

    def _walk(self, start: str) -> list[ChainLink]:
        links = [self._link(start, "claims", None, 0)]
        seen = {start}
        queue = deque([(start, 0)])
        while queue and len(links) < MAX_LINKS:
            key, depth = queue.popleft()
            obj = self._objects.get(key)
            if obj is None or depth >= MAX_DEPTH:
                continue
            for edge in obj.up_edges():
                up = object_key(edge.kind, edge.namespace, edge.name)
                if up in seen:
                    continue
                seen.add(up)
                links.append(self._link(up, edge.relation, key, depth + 1))
                queue.append((up, depth + 1))
                if len(links) >= MAX_LINKS:
                    break
        return links

    def _line(self, start: str) -> list[str]:
        line = [start]
        key = start
        while len(line) < MAX_DEPTH:
            obj = self._objects.get(key)
            if obj is None:
                break
            edges = obj.up_edges()
            parents = [
                object_key(e.kind, e.namespace, e.name) for e in edges if e.relation == "parent"
            ]
            parent = next((p for p in parents if p not in line), None)
            if parent is None:
                sources = [
                    object_key(e.kind, e.namespace, e.name) for e in edges if e.relation == "source"
                ]
                line.extend(s for s in sources[:1] if s not in line)
                break
            line.append(parent)
            key = parent
        return line

    def _link(self, key: str, relation: str, below: str | None, depth: int) -> ChainLink:
        obj = self._objects.get(key)
        kind, _, rest = key.partition("/")
        namespace, _, name = rest.partition("/")
        return ChainLink(
            key=key,
            kind=kind,
            namespace=namespace,
            name=name,
            tool=obj.tool if obj else "",
            relation=relation,
            below=below,
            depth=depth,
            present=obj is not None,
        )
