"""The violation vocabulary: stable codes, severities and the Violation record.

Codes are stable strings (pages link to them, the store may keep them); never renumber.

======  ========  ==============================================================================
code    severity  meaning
======  ========  ==============================================================================
TW001   high      A tool deploys into a namespace declared for the other tool (target namespace
                  or claim). One per namespace and tool, with every offending object as evidence.
                  Not raised for a tool's own kinds in its home namespace (Argo CD's
                  Applications in ``argocd``), nor for a resource already reported as TW002.
TW002   critical  One resource is claimed by both tools: the two controllers will fight.
TW003   high      A tool manages a cluster-scoped resource while cluster-scoped resources are
                  declared for the other tool (ADR-003: they belong to Flux).
TW004   high      Argo CD's own workloads (in its install namespace) are not deployed by Flux.
TW005   high      One resource is claimed by two objects of the same tool (also every Argo CD
                  SharedResourceWarning condition).
TW006   medium    A namespace with GitOps-managed resources has no declared owner.
TW007   low       Cannot tell who deploys Argo CD: Argo CD objects exist but none of its
                  workloads were found (or workloads were not collected), so TW004 could not be
                  checked. Reported so the check never passes silently.
======  ========  ==============================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CROSS_BOUNDARY = "TW001"
CONTESTED = "TW002"
CLUSTER_SCOPED = "TW003"
ARGOCD_NOT_BY_FLUX = "TW004"
DUPLICATE_CLAIM = "TW005"
UNDECLARED_NAMESPACE = "TW006"
ARGOCD_INSTALL_UNKNOWN = "TW007"

CRITICAL, HIGH, MEDIUM, LOW = "critical", "high", "medium", "low"
SEVERITY_ORDER = (CRITICAL, HIGH, MEDIUM, LOW)

CODES: dict[str, tuple[str, str]] = {
    CROSS_BOUNDARY: (HIGH, "Deploys across the ownership boundary"),
    CONTESTED: (CRITICAL, "Claimed by both Flux and Argo CD"),
    CLUSTER_SCOPED: (HIGH, "Cluster-scoped resource managed by the wrong tool"),
    ARGOCD_NOT_BY_FLUX: (HIGH, "Argo CD is not deployed by Flux"),
    DUPLICATE_CLAIM: (HIGH, "Claimed twice by the same tool"),
    UNDECLARED_NAMESPACE: (MEDIUM, "Namespace has no declared owner"),
    ARGOCD_INSTALL_UNKNOWN: (LOW, "Cannot tell who deploys Argo CD"),
}


@dataclass
class ResourceId:
    group: str
    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.group}/{self.kind}:{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "key": self.key}


@dataclass
class Violation:
    code: str
    severity: str
    title: str
    explanation: str  # one sentence naming the objects
    namespace: str = ""  # "" for cluster-scoped resources and cluster-wide findings
    resource: ResourceId | None = None
    tool: str | None = None  # the tool at fault, when there is one
    evidence: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)  # object keys, for links
    resources: list[str] = field(default_factory=list)  # every resource key involved

    @property
    def id(self) -> str:
        """Stable across polls while the same violation persists."""
        scope = self.resource.key if self.resource else self.namespace or ",".join(self.objects)
        if self.code == CROSS_BOUNDARY:
            scope = f"{self.namespace}:{self.tool}"
        return f"{self.code}:{scope}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "namespace": self.namespace,
            "resource": self.resource.to_dict() if self.resource else None,
            "tool": self.tool,
            "evidence": list(self.evidence),
            "objects": list(self.objects),
            "resources": list(self.resources),
        }


def new_violation(code: str, explanation: str, **kwargs: Any) -> Violation:
    severity, title = CODES[code]
    return Violation(code=code, severity=severity, title=title, explanation=explanation, **kwargs)


def sort_key(violation: Violation) -> tuple[int, str, str]:
    return (SEVERITY_ORDER.index(violation.severity), violation.code, violation.id)
