"""What the ownership analysis reads: plain dataclasses, easy to fill from store rows.

Every field has the name of the matching ``GitOpsObject`` / ``ManagedResource`` column where one
exists, and list/dict fields accept the JSON the store keeps (lists of dicts are turned into
``DependencyRef`` / ``Condition``), so ``GitOpsObject(**row)`` works on a ``.values()`` row
restricted to these fields.

Keys:

- object key ``"<Kind>/<namespace>/<name>"`` (what roll-ups already use for links);
- resource key ``"<group>/<Kind>:<namespace>/<name>"`` (Argo CD's tracking-id notation; empty group
  for the core group, empty namespace for cluster-scoped resources).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clusters.status.record import Condition, DependencyRef, ObjectRecord, ResourceRef

FLUX_OWNER_LABELS = (
    ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace", "Kustomization"),
    ("helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace", "HelmRelease"),
)
_FLUX_OWNER_GROUPS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io",
    "HelmRelease": "helm.toolkit.fluxcd.io",
}
SHARED_RESOURCE_WARNING = "SharedResourceWarning"
TRACKING_ID = "argocd.argoproj.io/tracking-id"


def object_key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"


def resource_key(group: str, kind: str, namespace: str, name: str) -> str:
    return f"{group}/{kind}:{namespace}/{name}"


def display(kind: str, namespace: str, name: str) -> str:
    """How a sentence names an object: "HelmRelease bigbang/gitlab", "ClusterRole admin"."""
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def key_display(key: str) -> str:
    """display() of an object key."""
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.partition("/")
    return display(kind, namespace, name)


def flux_owner_labels(labels: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of the Flux applier(s) named by the owner labels."""
    found = []
    for name_key, namespace_key, kind in FLUX_OWNER_LABELS:
        name, namespace = labels.get(name_key), labels.get(namespace_key)
        if name and namespace:
            found.append((kind, namespace, name))
    return found


@dataclass
class GitOpsObject:
    """A Flux or Argo CD object (one ``GitOpsObject`` row / one ``ObjectRecord``)."""

    tool: str
    group: str
    kind: str
    namespace: str
    name: str
    status: str = "Unknown"
    sync: str = "Unknown"
    target_namespaces: list[str] = field(default_factory=list)
    dependencies: list[DependencyRef] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    # The caller's identifier (a primary key), carried through untouched for links.
    id: int | str | None = None

    def __post_init__(self) -> None:
        self.status = str(self.status)
        self.sync = str(self.sync)
        self.target_namespaces = [str(ns) for ns in self.target_namespaces or ()]
        self.dependencies = [_dependency(d) for d in self.dependencies or ()]
        self.conditions = [_condition(c) for c in self.conditions or ()]
        self.labels = dict(self.labels or {})

    @property
    def key(self) -> str:
        return object_key(self.kind, self.namespace, self.name)

    @property
    def display(self) -> str:
        return display(self.kind, self.namespace, self.name)

    def up_edges(self) -> list[DependencyRef]:
        """Edges towards what put this object here: parent, helmchart and source relations.

        Flux owner labels add a parent when the normalizer's dependencies lack it (rows written
        before it learnt to read them, or objects built by hand).
        """
        edges = [d for d in self.dependencies if d.relation in ("parent", "helmchart", "source")]
        for kind, namespace, name in flux_owner_labels(self.labels):
            edge = DependencyRef("parent", kind, namespace, name, _FLUX_OWNER_GROUPS[kind])
            if not any(_same_target(edge, e) for e in edges):
                edges.append(edge)
        # Parents first: "who applied it" reads before "where it came from".
        order = {"parent": 0, "helmchart": 1, "source": 2}
        return sorted(edges, key=lambda d: order[d.relation])

    @classmethod
    def from_record(
        cls,
        record: ObjectRecord,
        labels: Mapping[str, str] | None = None,
        id: int | str | None = None,
    ) -> GitOpsObject:
        return cls(
            tool=record.tool,
            group=record.group,
            kind=record.kind,
            namespace=record.namespace,
            name=record.name,
            status=str(record.status),
            sync=str(record.sync),
            target_namespaces=list(record.target_namespaces),
            dependencies=list(record.dependencies),
            labels=dict(labels or {}),
            conditions=list(record.conditions),
            id=id,
        )


@dataclass(slots=True)
class Claim:
    """A GitOps object's statement that it manages a resource (one ``ManagedResource`` row).

    Slots: a cluster's analysis holds every claim (200,000 at 20,000 objects)."""

    object_key: str
    group: str
    kind: str
    namespace: str
    name: str
    sync: str | None = None
    health: str | None = None

    @property
    def resource_key(self) -> str:
        return resource_key(self.group, self.kind, self.namespace, self.name)

    @property
    def display(self) -> str:
        return display(self.kind, self.namespace, self.name)

    @classmethod
    def from_ref(cls, owner_key: str, ref: ResourceRef) -> Claim:
        return cls(
            owner_key, ref.group, ref.kind, ref.namespace, ref.name, ref.sync or None, ref.health
        )


def claims_from_record(record: ObjectRecord) -> list[Claim]:
    key = object_key(record.kind, record.namespace, record.name)
    return [Claim.from_ref(key, ref) for ref in record.managed]


@dataclass
class Workload:
    """A Deployment or StatefulSet as listed (for Argo CD's install and the controllers)."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    ready: int = 0
    desired: int = 0
    # spec.template labels: what PodMonitors select (and Services usually mirror).
    pod_labels: dict[str, str] = field(default_factory=dict)
    # The Controllers view (clusters/ownership/controller_health.py): the pod template's
    # container images, the pods' container restarts summed, and metrics.k8s.io usage
    # ({"cpuMillicores", "memoryBytes"}; None = not measured, ``usage_reason`` says why).
    images: list[str] = field(default_factory=list)
    pods: int = 0
    restarts: int = 0
    usage: dict[str, int] | None = None
    usage_reason: str = ""

    @property
    def key(self) -> str:
        return object_key(self.kind, self.namespace, self.name)

    @property
    def resource_key(self) -> str:
        return resource_key("apps", self.kind, self.namespace, self.name)

    @property
    def is_ready(self) -> bool:
        return self.desired > 0 and self.ready == self.desired

    @classmethod
    def from_manifest(cls, raw: Mapping[str, Any]) -> Workload:
        metadata = raw.get("metadata") or {}
        spec = raw.get("spec") or {}
        status = raw.get("status") or {}
        replicas = spec.get("replicas")
        return cls(
            kind=str(raw.get("kind", "")),
            namespace=str(metadata.get("namespace", "")),
            name=str(metadata.get("name", "")),
            labels=dict(metadata.get("labels") or {}),
            annotations=dict(metadata.get("annotations") or {}),
            ready=int(status.get("readyReplicas") or 0),
            # The API defaults spec.replicas to 1.
            desired=1 if replicas is None else int(replicas),
            pod_labels=dict(
                ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            ),
        )


@dataclass
class Monitor:
    """A ServiceMonitor or PodMonitor (monitoring.coreos.com)."""

    kind: str
    namespace: str
    name: str
    # {"any": true} | {"matchNames": [...]} | {} (= the monitor's own namespace)
    namespace_selector: dict[str, Any] = field(default_factory=dict)
    match_labels: dict[str, str] = field(default_factory=dict)
    match_expressions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return object_key(self.kind, self.namespace, self.name)

    def selects(self, workload: Workload) -> bool:
        """Whether the monitor's selectors cover the workload.

        Tidewatch does not list Services or Pods; the workload's own and pod-template labels
        stand in for them (charts label a controller's Service and Pods alike).
        """
        if not self._covers_namespace(workload.namespace):
            return False
        labels = {**workload.labels, **workload.pod_labels}
        if not self.match_labels and not self.match_expressions:
            return True  # an empty selector selects everything
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(_expression_holds(e, labels) for e in self.match_expressions)

    def _covers_namespace(self, namespace: str) -> bool:
        selector = self.namespace_selector or {}
        if selector.get("any"):
            return True
        names = selector.get("matchNames") or []
        return namespace in names if names else namespace == self.namespace

    @classmethod
    def from_manifest(cls, raw: Mapping[str, Any]) -> Monitor:
        metadata = raw.get("metadata") or {}
        spec = raw.get("spec") or {}
        selector = spec.get("selector") or {}
        return cls(
            kind=str(raw.get("kind", "")),
            namespace=str(metadata.get("namespace", "")),
            name=str(metadata.get("name", "")),
            namespace_selector=dict(spec.get("namespaceSelector") or {}),
            match_labels=dict(selector.get("matchLabels") or {}),
            match_expressions=list(selector.get("matchExpressions") or []),
        )


@dataclass
class SharedResourceWarning:
    """An Argo CD ``SharedResourceWarning`` condition reported by an Application."""

    object_key: str
    message: str


def shared_resource_warnings(objects: Iterable[GitOpsObject]) -> list[SharedResourceWarning]:
    """The SharedResourceWarning conditions carried on the objects themselves."""
    return [
        SharedResourceWarning(obj.key, c.message)
        for obj in objects
        for c in obj.conditions
        if c.type == SHARED_RESOURCE_WARNING
    ]


def _expression_holds(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = expression.get("key", "")
    operator = expression.get("operator", "")
    values = expression.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # an operator Kubernetes would reject selects nothing


def _dependency(value: DependencyRef | Mapping[str, Any]) -> DependencyRef:
    if isinstance(value, DependencyRef):
        return value
    return DependencyRef(
        relation=str(value.get("relation", "")),
        kind=str(value.get("kind", "")),
        namespace=str(value.get("namespace", "")),
        name=str(value.get("name", "")),
        group=str(value.get("group", "")),
    )


def _condition(value: Condition | Mapping[str, Any]) -> Condition:
    if isinstance(value, Condition):
        return value
    return Condition(
        type=str(value.get("type", "")),
        status=str(value.get("status", "")),
        reason=str(value.get("reason", "") or ""),
        message=str(value.get("message", "") or ""),
        last_transition_time=value.get("last_transition_time"),
    )


def _same_target(a: DependencyRef, b: DependencyRef) -> bool:
    return (a.relation, a.kind, a.namespace, a.name) == (b.relation, b.kind, b.namespace, b.name)
