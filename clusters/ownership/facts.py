"""Indexes the rules read: claims per resource, who deploys into each namespace.

"Deploys into" comes from target namespaces and claims, never from where the GitOps object lives:
Big Bang's HelmReleases live in ``bigbang`` and deploy elsewhere; Argo CD's Applications live in
``argocd``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clusters.ownership.boundaries import TOOL_NAMES, TOOLS, Boundaries, is_home_kind
from clusters.ownership.inputs import Claim, GitOpsObject, display


@dataclass
class ObjectBrief:
    key: str
    tool: str
    kind: str
    namespace: str
    name: str
    status: str

    @property
    def display(self) -> str:
        return display(self.kind, self.namespace, self.name)

    def to_dict(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: that deep-copies a Deployer's claims only for them
        # to be dropped (seconds on a first poll of thousands of objects).
        return {
            "key": self.key,
            "tool": self.tool,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "display": self.display,
        }


@dataclass
class Deployer(ObjectBrief):
    """A GitOps object deploying into one namespace."""

    via_target: bool = False  # the namespace is one of its target namespaces
    resources: int = 0  # how many of its claims are in the namespace
    # Only its tool's own kinds, into its tool's home (Argo CD Applications into ``argocd``):
    # allowed whatever the namespace is declared for, and not counted as "deploying".
    home_only: bool = False
    claims: list[Claim] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        display = out.pop("display")  # last, as before
        out.update(
            via_target=self.via_target,
            resources=self.resources,
            home_only=self.home_only,
            display=display,
        )
        return out


def brief(obj: GitOpsObject) -> ObjectBrief:
    return ObjectBrief(obj.key, obj.tool, obj.kind, obj.namespace, obj.name, obj.status)


class Facts:
    def __init__(
        self, objects: Iterable[GitOpsObject], claims: Iterable[Claim], boundaries: Boundaries
    ) -> None:
        self.boundaries = boundaries
        # Objects of neither tool (UnknownKind rows without a tool) cannot own anything.
        self.objects: dict[str, GitOpsObject] = {o.key: o for o in objects if o.tool in TOOLS}
        self.claims_by_resource: dict[str, list[Claim]] = defaultdict(list)
        self.claims_by_object: dict[str, list[Claim]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for claim in claims:
            rkey = claim.resource_key  # a formatted string: built once per claim
            pair = (claim.object_key, rkey)
            if claim.object_key not in self.objects or pair in seen:
                continue
            seen.add(pair)
            self.claims_by_resource[rkey].append(claim)
            self.claims_by_object[claim.object_key].append(claim)
        # One claim is never contested (most resources): only the rest need their tools.
        self.contested = {
            rkey
            for rkey, found in self.claims_by_resource.items()
            if len(found) > 1 and len(self.tools_of(found)) > 1
        }
        self.deployers = self._deployers()
        self.residents: dict[str, list[ObjectBrief]] = defaultdict(list)
        for obj in self.objects.values():
            if obj.namespace:
                self.residents[obj.namespace].append(brief(obj))

    def tool_of(self, claim: Claim) -> str:
        return self.objects[claim.object_key].tool

    def tools_of(self, claims: Iterable[Claim]) -> list[str]:
        found = {self.tool_of(c) for c in claims}
        return [t for t in TOOLS if t in found]

    def deploying(self, namespace: str) -> list[Deployer]:
        """Deployers that count: not the home-only ones."""
        return [d for d in self.deployers.get(namespace, []) if not d.home_only]

    def _deployers(self) -> dict[str, list[Deployer]]:
        out: dict[str, list[Deployer]] = defaultdict(list)
        for obj in sorted(self.objects.values(), key=lambda o: (o.tool, o.kind, o.key)):
            in_ns: dict[str, list[Claim]] = defaultdict(list)
            for claim in self.claims_by_object.get(obj.key, []):
                if claim.namespace:
                    in_ns[claim.namespace].append(claim)
            for namespace in sorted(set(obj.target_namespaces) | set(in_ns)):
                if not namespace:
                    continue
                found = in_ns.get(namespace, [])
                home_only = self.boundaries.is_home(obj.tool, namespace) and all(
                    is_home_kind(obj.tool, c.group, c.kind) for c in found
                )
                out[namespace].append(
                    Deployer(
                        obj.key,
                        obj.tool,
                        obj.kind,
                        obj.namespace,
                        obj.name,
                        obj.status,
                        via_target=namespace in obj.target_namespaces,
                        resources=len(found),
                        home_only=home_only,
                        claims=found,
                    )
                )
        return out


def tool_name(tool: str | None) -> str:
    return TOOL_NAMES.get(tool or "", tool or "no tool")
