"""The ADR-003 rules, one function per violation code (see violations.py for the table).

Each rule returns its violations already deduplicated; a resource both tools claim is reported
once, as TW002, and not again as TW001 or TW003 (the fight is the thing to fix first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from clusters.ownership.boundaries import ARGOCD, FLUX, TOOL_NAMES, TOOLS, is_home_kind
from clusters.ownership.facts import Deployer, Facts, tool_name
from clusters.ownership.inputs import (
    TRACKING_ID,
    Claim,
    SharedResourceWarning,
    Workload,
    display,
    flux_owner_labels,
    key_display,
    object_key,
)
from clusters.ownership.violations import (
    ARGOCD_INSTALL_UNKNOWN,
    ARGOCD_NOT_BY_FLUX,
    CLUSTER_SCOPED,
    CONTESTED,
    CROSS_BOUNDARY,
    DUPLICATE_CLAIM,
    UNDECLARED_NAMESPACE,
    ResourceId,
    Violation,
    new_violation,
)

# A sentence lists a few names; the evidence list has them all.
MAX_NAMED = 3
ARGOCD_WORKLOAD_KINDS = ("Deployment", "StatefulSet")
# Argo CD's message: "<Kind>/<name> is part of applications <ns>/<app> and <other-app>".
_SHARED = re.compile(
    r"(?P<kind>[A-Za-z0-9]+)/(?P<name>[^\s/]+) is part of applications? "
    r"(?P<first>\S+) and (?P<second>[^\s.]+(?:\.[^\s.]+)*)"
)


def cross_boundary(facts: Facts) -> list[Violation]:
    """TW001: a tool deploys into a namespace declared for the other tool."""
    out = []
    for namespace in sorted(facts.deployers):
        owner = facts.boundaries.declared_owner(namespace)
        if owner is None:
            continue  # TW006's business
        for tool in TOOLS:
            if tool == owner:
                continue
            offenders = [
                (d, _offending_claims(facts, d, namespace))
                for d in facts.deploying(namespace)
                if d.tool == tool
            ]
            # A deployer whose only claims here are contested is reported by TW002 alone.
            offenders = [(d, c) for d, c in offenders if c or not d.claims]
            if offenders:
                out.append(_cross_boundary_violation(namespace, tool, owner, offenders))
    return out


def contested(facts: Facts) -> list[Violation]:
    """TW002: one resource, claims from both tools."""
    out = []
    for rkey in sorted(facts.contested):
        claims = facts.claims_by_resource[rkey]
        first = claims[0]
        sides = [
            f"{TOOL_NAMES[tool]} ({_names(_keys(c for c in claims if facts.tool_of(c) == tool))})"
            for tool in facts.tools_of(claims)
        ]
        out.append(
            new_violation(
                CONTESTED,
                f"{first.display} is claimed by {' and by '.join(sides)}: "
                "the two controllers will fight over it.",
                namespace=first.namespace,
                resource=_resource_id(first),
                evidence=[_claim_fact(facts, c) for c in claims],
                objects=_keys(claims),
                resources=[rkey],
            )
        )
    return out


def cluster_scoped(facts: Facts) -> list[Violation]:
    """TW003: a cluster-scoped resource managed by the tool it is not declared for."""
    owner = facts.boundaries.cluster_scoped_owner
    if owner is None:
        return []
    out = []
    for rkey, claims in sorted(facts.claims_by_resource.items()):
        first = claims[0]
        if first.namespace or rkey in facts.contested:
            continue
        wrong = [c for c in claims if facts.tool_of(c) != owner]
        if not wrong:
            continue
        tool = facts.tool_of(wrong[0])
        out.append(
            new_violation(
                CLUSTER_SCOPED,
                f"{_names(_keys(wrong))} ({TOOL_NAMES[tool]}) manages the cluster-scoped "
                f"{first.display}, but cluster-scoped resources are declared for "
                f"{TOOL_NAMES[owner]}.",
                resource=_resource_id(first),
                tool=tool,
                evidence=[_claim_fact(facts, c) for c in wrong],
                objects=_keys(wrong),
                resources=[rkey],
            )
        )
    return out


def argocd_not_by_flux(
    facts: Facts, workloads: list[Workload] | None, namespaces: Iterable[str]
) -> list[Violation]:
    """TW004 (and TW007 when it cannot be checked): Flux must deploy Argo CD itself."""
    install = facts.boundaries.install_namespace(ARGOCD)
    argo_objects = sorted(k for k, o in facts.objects.items() if o.tool == ARGOCD)
    found = [w for w in workloads or [] if _is_argocd_workload(w, install)]
    if not found:
        if not argo_objects and install not in set(namespaces):
            return []  # no Argo CD on this cluster: nothing to check
        why = (
            "workloads were not collected"
            if workloads is None
            else f"no Argo CD Deployment or StatefulSet was found in {install}"
        )
        return [
            new_violation(
                ARGOCD_INSTALL_UNKNOWN,
                f"Cannot tell whether Flux deploys Argo CD: {why}.",
                namespace=install,
                tool=ARGOCD,
                evidence=[why, f"{len(argo_objects)} Argo CD objects observed"],
                objects=argo_objects[:MAX_NAMED],
            )
        ]
    flux_claims = {
        c.resource_key: c
        for claims in facts.claims_by_resource.values()
        for c in claims
        if facts.tool_of(c) == FLUX
    }
    offenders = [w for w in found if not _by_flux(w, flux_claims)]
    if not offenders:
        return []
    evidence = [_workload_fact(facts, w) for w in offenders]
    claimers = sorted(
        {c.object_key for w in offenders for c in facts.claims_by_resource.get(w.resource_key, [])}
    )
    return [
        new_violation(
            ARGOCD_NOT_BY_FLUX,
            f"Argo CD's {_listing([f'{w.kind} {w.name}' for w in offenders])} in {install} "
            f"{'is' if len(offenders) == 1 else 'are'} not deployed by Flux (no Flux inventory "
            "lists them and they carry no Flux owner labels).",
            namespace=install,
            tool=ARGOCD,
            evidence=evidence,
            objects=claimers,
            resources=[w.resource_key for w in offenders],
        )
    ]


def duplicate_claims(facts: Facts, warnings: Iterable[SharedResourceWarning]) -> list[Violation]:
    """TW005: two objects of one tool claim the same resource (plus SharedResourceWarnings)."""
    found: dict[str, Violation] = {}
    # A resource claimed once cannot be claimed twice: skip those before sorting.
    claimed_more = [(rkey, c) for rkey, c in facts.claims_by_resource.items() if len(c) > 1]
    for rkey, claims in sorted(claimed_more):
        doubled = [
            tool
            for tool in TOOLS
            if len({c.object_key for c in claims if facts.tool_of(c) == tool}) > 1
        ]
        if not doubled:
            continue
        members = [c for c in claims if facts.tool_of(c) in doubled]
        tool = doubled[0] if len(doubled) == 1 else None
        found[rkey] = new_violation(
            DUPLICATE_CLAIM,
            f"{claims[0].display} is claimed by {len(members)} {tool_name(tool)} objects "
            f"({_names(_keys(members))}): each will overwrite the other's changes.",
            namespace=claims[0].namespace,
            resource=_resource_id(claims[0]),
            tool=tool,
            evidence=[_claim_fact(facts, c) for c in members],
            objects=_keys(members),
            resources=[rkey],
        )
    loose: list[Violation] = []
    for warning in warnings:
        _add_shared_warning(facts, warning, found, loose)
    return [found[k] for k in sorted(found)] + loose


def undeclared(facts: Facts) -> list[Violation]:
    """TW006: GitOps tools deploy into a namespace nobody declared."""
    out = []
    for namespace in sorted(facts.deployers):
        deployers = facts.deploying(namespace)
        if not deployers or facts.boundaries.declared_owner(namespace) is not None:
            continue
        tools = sorted({d.tool for d in deployers}, key=TOOLS.index)
        out.append(
            new_violation(
                UNDECLARED_NAMESPACE,
                f"No owner is declared for namespace {namespace}, yet {deployed_by(deployers)} "
                "deploys into it.",
                namespace=namespace,
                tool=tools[0] if len(tools) == 1 else None,
                evidence=[_deployer_fact(d, namespace) for d in deployers],
                objects=[d.key for d in deployers],
                resources=sorted({c.resource_key for d in deployers for c in d.claims}),
            )
        )
    return out


def deployed_by(deployers: list[Deployer]) -> str:
    """E.g. "Argo CD (Application argocd/sandbox-experiments)"; tools with their objects."""
    parts = []
    for tool in TOOLS:
        keys = [d.key for d in deployers if d.tool == tool]
        if keys:
            parts.append(f"{TOOL_NAMES[tool]} ({_names(keys)})")
    return " and ".join(parts)


def names(keys: list[str]) -> str:
    return _names(keys)


# -- helpers ------------------------------------------------------------------------------------


def _offending_claims(facts: Facts, deployer: Deployer, namespace: str) -> list[Claim]:
    home = facts.boundaries.is_home(deployer.tool, namespace)
    return [
        c
        for c in deployer.claims
        if c.resource_key not in facts.contested
        and not (home and is_home_kind(deployer.tool, c.group, c.kind))
    ]


def _cross_boundary_violation(
    namespace: str, tool: str, owner: str, offenders: list[tuple[Deployer, list[Claim]]]
) -> Violation:
    where = f"into {namespace}, a namespace declared for {TOOL_NAMES[owner]}"
    if len(offenders) == 1:
        deployer, claims = offenders[0]
        what = _what(claims)
        verb = f"deploys {what}" if what else "targets"
        sentence = (
            f"{deployer.display} ({TOOL_NAMES[tool]}) {verb} "
            f"{where if what else where.removeprefix('into ')}."
        )
    else:
        listed = ", ".join(
            f"{d.display} ({_what(c) or 'target namespace'})" for d, c in offenders[:MAX_NAMED]
        )
        more = f" and {len(offenders) - MAX_NAMED} more" if len(offenders) > MAX_NAMED else ""
        sentence = f"{TOOL_NAMES[tool]} deploys {where}: {listed}{more}."
    evidence = []
    for deployer, claims in offenders:
        if claims:
            evidence += [f"{deployer.display} manages {c.display}" for c in claims]
        else:
            evidence.append(f"{deployer.display} targets namespace {namespace}")
    all_claims = [c for _, claims in offenders for c in claims]
    return new_violation(
        CROSS_BOUNDARY,
        sentence,
        namespace=namespace,
        resource=_resource_id(all_claims[0]) if len(all_claims) == 1 else None,
        tool=tool,
        evidence=evidence,
        objects=[d.key for d, _ in offenders],
        resources=sorted({c.resource_key for c in all_claims}),
    )


def _what(claims: list[Claim]) -> str:
    if not claims:
        return ""
    if len(claims) == 1:
        return claims[0].display
    return f"{len(claims)} resources"


def _add_shared_warning(
    facts: Facts,
    warning: SharedResourceWarning,
    found: dict[str, Violation],
    loose: list[Violation],
) -> None:
    reporter = facts.objects.get(warning.object_key)
    namespace = reporter.namespace if reporter else warning.object_key.split("/")[1]
    match = _SHARED.search(warning.message)
    fact = f"{key_display(warning.object_key)} reports SharedResourceWarning: {warning.message}"
    others: list[str] = []
    claim = None
    if match:
        others = [_app_key(t, namespace) for t in (match["first"], match["second"])]
        claim = next(
            (
                c
                for c in facts.claims_by_object.get(warning.object_key, [])
                if c.kind == match["kind"] and c.name == match["name"]
            ),
            None,
        )
    keys = list(dict.fromkeys([warning.object_key, *others]))
    if claim is not None and claim.resource_key in found:
        existing = found[claim.resource_key]
        existing.evidence.append(fact)
        existing.objects = list(dict.fromkeys([*existing.objects, *keys]))
        return
    what = f"{match['kind']} {match['name']}" if match else "a resource"
    violation = new_violation(
        DUPLICATE_CLAIM,
        f"Argo CD reports that {what} is part of two Applications ({_names(keys)}): each will "
        "overwrite the other's changes.",
        namespace=claim.namespace if claim else "",
        resource=_resource_id(claim) if claim else None,
        tool=ARGOCD,
        evidence=[fact],
        objects=keys,
        resources=[claim.resource_key] if claim else [],
    )
    if claim is not None:
        found[claim.resource_key] = violation
    else:
        loose.append(violation)


def _app_key(token: str, default_namespace: str) -> str:
    """An application reference from Argo CD's message: "ns/app", "ns_app" or "app"."""
    for sep in ("/", "_"):
        namespace, found, name = token.partition(sep)
        if found and namespace and name:
            return object_key("Application", namespace, name)
    return object_key("Application", default_namespace, token)


def _is_argocd_workload(workload: Workload, install: str) -> bool:
    return (
        workload.namespace == install
        and workload.kind in ARGOCD_WORKLOAD_KINDS
        and (
            workload.name.startswith("argocd-")
            or workload.labels.get("app.kubernetes.io/part-of") == "argocd"
        )
    )


def _by_flux(workload: Workload, flux_claims: dict[str, Claim]) -> bool:
    return workload.resource_key in flux_claims or bool(flux_owner_labels(workload.labels))


def _workload_fact(facts: Facts, workload: Workload) -> str:
    what = display(workload.kind, workload.namespace, workload.name)
    claimers = [c.object_key for c in facts.claims_by_resource.get(workload.resource_key, [])]
    if claimers:
        return f"{what} is managed by {_names(claimers)}, not by a Flux object"
    tracking = workload.annotations.get(TRACKING_ID, "")
    if tracking:
        return (
            f"{what} is tracked by Argo CD ({TRACKING_ID}: {tracking}) and no Flux object lists it"
        )
    return f"{what} is listed by no GitOps object and has no Flux owner labels"


def _claim_fact(facts: Facts, claim: Claim) -> str:
    obj = facts.objects[claim.object_key]
    where = "its inventory" if obj.tool == FLUX else "status.resources"
    sync = f" (sync {claim.sync})" if claim.sync else ""
    return f"{obj.display} ({TOOL_NAMES[obj.tool]}) lists {claim.display} in {where}{sync}"


def _deployer_fact(deployer: Deployer, namespace: str) -> str:
    if deployer.resources:
        plural = "s" if deployer.resources != 1 else ""
        return f"{deployer.display} manages {deployer.resources} resource{plural} in {namespace}"
    return f"{deployer.display} targets namespace {namespace}"


def _resource_id(claim: Claim) -> ResourceId:
    return ResourceId(claim.group, claim.kind, claim.namespace, claim.name)


def _keys(claims: Iterable[Claim]) -> list[str]:
    return list(dict.fromkeys(c.object_key for c in claims))


def _names(keys: list[str]) -> str:
    return _listing([key_display(k) for k in keys])


def _listing(shown: list[str]) -> str:
    if len(shown) > MAX_NAMED:
        return ", ".join(shown[:MAX_NAMED]) + f" and {len(shown) - MAX_NAMED} more"
    if len(shown) <= 2:
        return " and ".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]
