"""Declared vs observed ownership: namespaces, managed resources and violations.

Pure: dataclasses in (inputs.py), an ``OwnershipReport`` out. The caller (the poll) builds the
inputs from the store and keeps ``report.to_dict()``.

``to_dict()`` keeps each claiming object's full chain once, under ``chains`` (keyed by object
key); a resource's claimants carry only their one-line ``lineage``. Hundreds of resources share
a handful of claimers, so repeating the chains per resource would multiply the payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clusters.ownership import rules
from clusters.ownership.boundaries import TOOL_NAMES, TOOLS, Boundaries, default_boundaries
from clusters.ownership.chains import ChainIndex, ChainLink
from clusters.ownership.facts import Deployer, Facts, ObjectBrief
from clusters.ownership.inputs import (
    Claim,
    GitOpsObject,
    SharedResourceWarning,
    Workload,
    display,
    shared_resource_warnings,
)
from clusters.ownership.violations import (
    CROSS_BOUNDARY,
    SEVERITY_ORDER,
    UNDECLARED_NAMESPACE,
    Violation,
    sort_key,
)

# Violations about a namespace as a whole (who deploys into it), not about one resource: a
# resource claimed once that only these name says nothing its namespace's violation does not.
NAMESPACE_WIDE = frozenset({CROSS_BOUNDARY, UNDECLARED_NAMESPACE})


@dataclass
class NamespaceOwnership:
    namespace: str
    exists: bool  # the Namespace object was listed
    declared_owner: str | None
    home_of: list[str]  # tools whose home this is
    deployed_by: list[str]  # tools deploying here (home-only deployers excluded)
    deployers: list[Deployer]  # every object deploying here, home-only ones included
    residents: list[ObjectBrief]  # GitOps objects living here (not what ownership is about)
    summary: str
    violations: list[Violation] = field(default_factory=list)
    # Resources here claimed once and named only by this namespace's own violations (TW001,
    # TW006), and how many of them the report lists (all, unless ``namespace_sample``).
    violation_resources: int = 0
    violation_resources_listed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "exists": self.exists,
            "declared_owner": self.declared_owner,
            "home_of": list(self.home_of),
            "deployed_by": list(self.deployed_by),
            "deployers": [d.to_dict() for d in self.deployers],
            "residents": [r.to_dict() for r in self.residents],
            "summary": self.summary,
            "violations": [v.to_dict() for v in self.violations],
            "violation_resources": self.violation_resources,
            "violation_resources_listed": self.violation_resources_listed,
        }


@dataclass
class Claimant:
    key: str
    tool: str
    sync: str | None
    health: str | None
    lineage: list[str]  # the claimer, its parents up to the root, then the root's source
    chain: list[ChainLink] = field(repr=False)  # everything above it, breadth-first

    def to_dict(self) -> dict[str, Any]:
        # The chain lives once in OwnershipReport.to_dict()["chains"].
        return {
            "key": self.key,
            "tool": self.tool,
            "sync": self.sync,
            "health": self.health,
            "lineage": list(self.lineage),
        }


@dataclass
class ResourceOwnership:
    key: str
    group: str
    kind: str
    namespace: str
    name: str
    claimed_by: list[Claimant]
    tools: list[str]
    violations: list[str]  # violation ids

    @property
    def display(self) -> str:
        return display(self.kind, self.namespace, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "claimed_by": [c.to_dict() for c in self.claimed_by],
            "tools": list(self.tools),
            "violations": list(self.violations),
        }


@dataclass
class OwnershipReport:
    boundaries: Boundaries
    namespaces: list[NamespaceOwnership]
    resources: list[ResourceOwnership]
    violations: list[Violation]
    chains: dict[str, list[ChainLink]]  # object key -> chain, for every claiming object

    def namespace(self, name: str) -> NamespaceOwnership | None:
        return next((n for n in self.namespaces if n.namespace == name), None)

    def resource(self, key: str) -> ResourceOwnership | None:
        return next((r for r in self.resources if r.key == key), None)

    def by_code(self, code: str) -> list[Violation]:
        return [v for v in self.violations if v.code == code]

    def counts(self) -> dict[str, int]:
        """Violations per severity, every severity present (zeros included)."""
        return {s: sum(1 for v in self.violations if v.severity == s) for s in SEVERITY_ORDER}

    def to_dict(self) -> dict[str, Any]:
        return {
            "boundaries": self.boundaries.to_dict(),
            "counts": self.counts(),
            "violations": [v.to_dict() for v in self.violations],
            "namespaces": [n.to_dict() for n in self.namespaces],
            "resources": [r.to_dict() for r in self.resources],
            "chains": {k: [link.to_dict() for link in v] for k, v in self.chains.items()},
        }


def analyse(
    objects: Iterable[GitOpsObject],
    claims: Iterable[Claim],
    *,
    boundaries: Boundaries | None = None,
    workloads: Iterable[Workload] | None = None,
    namespaces: Iterable[str] = (),
    warnings: Iterable[SharedResourceWarning] = (),
    contested_only: bool = False,
    namespace_sample: int | None = None,
) -> OwnershipReport:
    """Evaluate ADR-003 over one cluster.

    ``contested_only``: describe (with claim chains) only the resources claimed more than once
    or named by a violation. A cluster of 20,000 objects claims 200,000 resources; the poller
    keeps only the contested ones, so building the rest would cost memory for nothing.

    ``workloads``: the Deployments/StatefulSets listed (at least those in Argo CD's install
    namespace); None (the default) means they were not collected, which TW007 reports when
    Argo CD is present. ``namespace_sample``: of the resources claimed once and named only by
    their namespace's own violations (TW001, TW006: "Argo CD deploys into a namespace declared
    for Flux"), describe at most this many per namespace and count the rest (a cluster where
    nothing is declared puts every resource in one; listing 50,000 says nothing the
    namespace's violation does not); None lists them all. ``namespaces``: the
    Namespace objects that exist. ``warnings``: SharedResourceWarnings in addition to those on
    the objects' own conditions.
    """
    boundaries = boundaries or default_boundaries()
    objects = list(objects)
    facts = Facts(objects, claims, boundaries)
    existing = set(namespaces)
    workload_list = None if workloads is None else list(workloads)
    all_warnings = _unique_warnings([*shared_resource_warnings(facts.objects.values()), *warnings])

    violations = [
        *rules.cross_boundary(facts),
        *rules.contested(facts),
        *rules.cluster_scoped(facts),
        *rules.argocd_not_by_flux(facts, workload_list, existing),
        *rules.duplicate_claims(facts, all_warnings),
        *rules.undeclared(facts),
    ]
    violations.sort(key=sort_key)
    chains = ChainIndex(facts.objects)
    resources, tallies = _resources(facts, chains, violations, contested_only, namespace_sample)
    claimants = (
        {c.key for r in resources for c in r.claimed_by}
        if contested_only
        else set(facts.claims_by_object)
    )
    return OwnershipReport(
        boundaries=boundaries,
        namespaces=_namespaces(facts, existing, violations, tallies),
        resources=resources,
        violations=violations,
        chains={key: chains.chain(key) for key in sorted(claimants)},
    )


def summary(declared: str | None, deployers: list[Deployer], home_of: list[str]) -> str:
    """One sentence: declared owner, who actually deploys, and whose home it is.

    "Declared for Flux; deployed by Flux (HelmRelease bigbang/gitlab)."
    "Declared for Flux, but Argo CD also deploys here: Application argocd/portfolio."
    "No owner declared; Argo CD deploys here (Application argocd/sandbox-experiments)."
    """
    real = [d for d in deployers if not d.home_only]
    if declared is None:
        if real:
            tools, verb = _tools(real)
            head = f"No owner declared; {tools} {verb} here ({rules.names(_keys(real))})"
        else:
            head = "No owner declared; no GitOps tool deploys here"
    else:
        mine = [d for d in real if d.tool == declared]
        others = [d for d in real if d.tool != declared]
        head = f"Declared for {TOOL_NAMES[declared]}"
        if others:
            tools, verb = _tools(others)
            also = "also " if mine else ""
            head += f", but {tools} {also}{verb} here: {rules.names(_keys(others))}"
        elif mine:
            head += f"; deployed by {rules.deployed_by(mine)}"
        else:
            head += "; no GitOps tool deploys here"
    for tool in home_of:
        keys = [d.key for d in deployers if d.home_only and d.tool == tool]
        head += f"; {TOOL_NAMES[tool]}'s home"
        if keys:
            verb = "manages" if len(keys) == 1 else "manage"
            head += f", where {rules.names(keys)} {verb} {TOOL_NAMES[tool]}'s own objects"
    return head + "."


# -- assembly -----------------------------------------------------------------------------------


def _namespaces(
    facts: Facts,
    existing: set[str],
    violations: list[Violation],
    tallies: dict[str, list[int]],
) -> list[NamespaceOwnership]:
    names = sorted((existing | set(facts.deployers) | set(facts.residents)) - {""})
    out = []
    for name in names:
        deployers = facts.deployers.get(name, [])
        declared = facts.boundaries.declared_owner(name)
        home_of = facts.boundaries.home_tools(name)
        real = [d for d in deployers if not d.home_only]
        counted, listed = tallies.get(name, (0, 0))
        out.append(
            NamespaceOwnership(
                namespace=name,
                exists=name in existing,
                declared_owner=declared,
                home_of=home_of,
                deployed_by=[t for t in TOOLS if any(d.tool == t for d in real)],
                deployers=deployers,
                residents=sorted(facts.residents.get(name, []), key=lambda r: r.key),
                summary=summary(declared, deployers, home_of),
                violations=[v for v in violations if v.namespace == name],
                violation_resources=counted,
                violation_resources_listed=listed,
            )
        )
    return out


def _resources(
    facts: Facts,
    chains: ChainIndex,
    violations: list[Violation],
    contested_only: bool = False,
    namespace_sample: int | None = None,
) -> tuple[list[ResourceOwnership], dict[str, list[int]]]:
    """The resources described, and per namespace [resources claimed once and named only by
    the namespace's own violations, how many of them are described]."""
    by_resource: dict[str, list[str]] = {}
    codes = {v.id: v.code for v in violations}
    for violation in violations:
        for rkey in violation.resources:
            by_resource.setdefault(rkey, []).append(violation.id)
    out = []
    tallies: dict[str, list[int]] = {}
    for rkey in sorted(facts.claims_by_resource):
        claims = facts.claims_by_resource[rkey]
        named = by_resource.get(rkey, [])
        first = claims[0]
        if len(claims) < 2 and named and all(codes[vid] in NAMESPACE_WIDE for vid in named):
            tally = tallies.setdefault(first.namespace, [0, 0])
            tally[0] += 1
            if namespace_sample is not None and tally[1] >= namespace_sample:
                continue  # counted: its namespace's violation says it
            tally[1] += 1
        elif contested_only and len(claims) < 2 and not named:
            continue
        out.append(
            ResourceOwnership(
                key=rkey,
                group=first.group,
                kind=first.kind,
                namespace=first.namespace,
                name=first.name,
                claimed_by=[
                    Claimant(
                        key=c.object_key,
                        tool=facts.tool_of(c),
                        sync=c.sync,
                        health=c.health,
                        lineage=chains.lineage(c.object_key),
                        chain=chains.chain(c.object_key),
                    )
                    for c in claims
                ],
                tools=facts.tools_of(claims),
                violations=named,
            )
        )
    return out, tallies


def _tools(deployers: list[Deployer]) -> tuple[str, str]:
    """("Argo CD", "deploys") or ("Flux and Argo CD", "deploy")."""
    tools = [t for t in TOOLS if any(d.tool == t for d in deployers)]
    return " and ".join(TOOL_NAMES[t] for t in tools), "deploys" if len(tools) == 1 else "deploy"


def _keys(deployers: list[Deployer]) -> list[str]:
    return [d.key for d in deployers]


def _unique_warnings(warnings: list[SharedResourceWarning]) -> list[SharedResourceWarning]:
    seen: set[tuple[str, str]] = set()
    out = []
    for warning in warnings:
        pair = (warning.object_key, warning.message)
        if pair not in seen:
            seen.add(pair)
            out.append(warning)
    return out
