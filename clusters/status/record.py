"""The unified record every normalizer returns: one shape for Flux and Argo CD objects.

Plain dataclasses, no Django: the normalizer is pure and testable without a database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from clusters.status.vocabulary import Status, Sync


@dataclass(frozen=True)
class ResourceRef:
    """A Kubernetes object applied by a GitOps object (a *claim*).

    ``namespace`` is "" for cluster-scoped resources; ``group`` is "" for the core group.
    ``health`` is None when the tool does not report it (Argo CD >= 3.0 keeps per-resource
    health out of the Application: shown as "not reported", never guessed).
    """

    group: str
    kind: str
    namespace: str
    name: str
    version: str = ""
    sync: str | None = None
    health: str | None = None

    # The generated __init__ of a frozen dataclass sets each field through
    # object.__setattr__: 4 µs a reference, and a first sync builds ~160,000 of them. The same
    # signature and the same instance, written straight into the instance's __dict__
    # (dataclass keeps an __init__ the class defines).
    def __init__(
        self,
        group: str,
        kind: str,
        namespace: str,
        name: str,
        version: str = "",
        sync: str | None = None,
        health: str | None = None,
    ) -> None:
        values = self.__dict__
        values["group"] = group
        values["kind"] = kind
        values["namespace"] = namespace
        values["name"] = name
        values["version"] = version
        values["sync"] = sync
        values["health"] = health


@dataclass(frozen=True)
class DependencyRef:
    """An edge to another GitOps object, from the point of view of the record's object.

    ``relation`` is one of: "source" (Flux sourceRef, HelmRelease chart source),
    "helmchart" (HelmRelease -> generated HelmChart), "dependsOn", "parent"
    (ApplicationSet or app-of-apps that owns an Application; Flux object that applied it),
    "child" (Application generated/managed by this object).
    """

    relation: str
    kind: str
    namespace: str
    name: str
    group: str = ""

    def __init__(  # as ResourceRef's, for the same reason
        self, relation: str, kind: str, namespace: str, name: str, group: str = ""
    ) -> None:
        values = self.__dict__
        values["relation"] = relation
        values["kind"] = kind
        values["namespace"] = namespace
        values["name"] = name
        values["group"] = group


@dataclass
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None


@dataclass
class ObjectRecord:
    tool: str  # Tool value
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""
    resource_version: str = ""
    status: Status = Status.UNKNOWN
    sync: Sync = Sync.UNKNOWN
    reason: str = ""  # short machine reason, e.g. "InstallFailed", "ComparisonError"
    message: str = ""  # the single most useful sentence for a human
    applied_revision: str = ""  # what is running now
    attempted_revision: str = ""  # what was last tried (== applied when all is well)
    revisions: list[str] = field(default_factory=list)  # Argo multi-source sync revisions
    # kind/name/namespace/url for Flux; repoURL/path/chart/targetRevision(/sources) for Argo
    source: dict[str, Any] = field(default_factory=dict)
    suspended: bool = False
    last_transition_time: str | None = None  # ISO 8601, from the deciding condition
    last_reconcile_time: str | None = None  # ISO 8601
    target_namespaces: list[str] = field(default_factory=list)
    managed: list[ResourceRef] = field(default_factory=list)
    dependencies: list[DependencyRef] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    # Kind-specific detail for the object page (HelmRelease failure counters and history,
    # Argo operationState, ApplicationSet applicationStatus ...). JSON-serialisable.
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
