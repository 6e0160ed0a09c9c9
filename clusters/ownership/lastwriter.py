"""Who last wrote a live object, from its metadata alone (the pure half of the TW002 follow-up).

When both tools claim a resource, a background job GETs the live object and hands its metadata
here. Three kinds of signal:

- ``managedFields``: every field manager with its operation and time. The newest write wins.
  Writes to the ``status`` subresource and by Kubernetes' own housekeeping controllers
  (kube-controller-manager bumping a Deployment's revision annotation, ...) are listed but do
  not count: they maintain an object, they do not declare it.
- Flux owner labels ``kustomize.toolkit.fluxcd.io/name|namespace`` and
  ``helm.toolkit.fluxcd.io/name|namespace``.
- Argo CD's ``argocd.argoproj.io/tracking-id`` annotation (annotation tracking, the 3.x default),
  which Argo CD honours only when it describes the object itself (a copy made by another tool is
  ignored); and ``app.kubernetes.io/instance`` (label tracking), a weak signal because Helm charts
  set the same label.

Labels and annotations say who *claims* the object; only managedFields say who *wrote* it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from clusters.ownership.boundaries import ARGOCD, FLUX, TOOL_NAMES
from clusters.ownership.inputs import TRACKING_ID, flux_owner_labels

INSTANCE_LABEL = "app.kubernetes.io/instance"

MANAGER_TOOLS = {
    "kustomize-controller": FLUX,
    "helm-controller": FLUX,
    "argocd-controller": ARGOCD,
    "argocd-application-controller": ARGOCD,
    "argocd-server": ARGOCD,
}
# Kubernetes' own controllers: their writes keep an object running, they do not declare it.
HOUSEKEEPING_MANAGERS = frozenset(
    {
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-apiserver",
        "cloud-controller-manager",
    }
)


@dataclass(frozen=True)
class FieldWrite:
    manager: str
    operation: str  # Apply | Update
    time: str | None
    tool: str | None  # flux | argocd | None
    manual: bool  # kubectl: a person, not a controller
    subresource: str = ""
    counted: bool = True  # False: status or housekeeping write, ignored for "last writer"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signal:
    source: str  # managedFields | label | annotation
    tool: str | None
    detail: str
    strong: bool = True  # False: could also come from something else

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LastWriter:
    writer: str | None  # "flux" | "argocd" | a manager name ("kubectl-edit") | None: unknown
    tool: str | None  # the GitOps tool behind the last write, if any
    manager: str | None
    operation: str | None
    at: str | None
    explanation: str
    signals: list[Signal] = field(default_factory=list)
    writes: list[FieldWrite] = field(default_factory=list)  # newest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "writer": self.writer,
            "tool": self.tool,
            "manager": self.manager,
            "operation": self.operation,
            "at": self.at,
            "explanation": self.explanation,
            "signals": [s.to_dict() for s in self.signals],
            "writes": [w.to_dict() for w in self.writes],
        }


def last_writers(
    metadata: Mapping[str, Any], *, group: str | None = None, kind: str | None = None
) -> LastWriter:
    """Read ``metadata`` (or a whole object: its ``metadata``, ``apiVersion`` and ``kind``).

    ``group``/``kind`` let the tracking-id check compare them too; without them only the
    namespace and name are compared.
    """
    if isinstance(metadata.get("metadata"), Mapping):
        api_version = str(metadata.get("apiVersion", ""))
        group = group if group is not None else api_version.rpartition("/")[0]
        kind = kind if kind is not None else str(metadata.get("kind", "")) or None
        metadata = metadata["metadata"]
    writes = _writes(metadata.get("managedFields"))
    signals = [*_label_signals(metadata), *_tracking_signals(metadata, group, kind)]
    signals += [
        Signal(
            "managedFields", w.tool, f"{w.manager} ({w.operation}) at {w.time or 'unknown time'}"
        )
        for w in writes
        if w.counted and w.tool
    ]
    counted = [w for w in writes if w.counted]
    if not counted:
        why = (
            "metadata.managedFields is missing"
            if not writes
            else "managedFields only show status or housekeeping writes"
        )
        return LastWriter(
            writer=None,
            tool=None,
            manager=None,
            operation=None,
            at=None,
            explanation=f"Cannot tell who wrote it last: {why}{_claims_clause(signals)}.",
            signals=signals,
            writes=writes,
        )
    last = counted[0]
    writer = last.tool or last.manager
    who = f"{TOOL_NAMES[last.tool]}'s {last.manager}" if last.tool else last.manager
    how = f"{last.operation}, by hand" if last.manual else last.operation
    when = f" at {last.time}" if last.time else ""
    return LastWriter(
        writer=writer,
        tool=last.tool,
        manager=last.manager,
        operation=last.operation,
        at=last.time,
        explanation=f"Last written by {who} ({how}){when}{_claims_clause(signals)}.",
        signals=signals,
        writes=writes,
    )


def manager_tool(manager: str) -> str | None:
    if manager in MANAGER_TOOLS:
        return MANAGER_TOOLS[manager]
    if manager.startswith("argocd"):
        return ARGOCD
    if manager.startswith(("kustomize-controller", "helm-controller")):
        return FLUX
    return None


# -- managedFields ------------------------------------------------------------------------------


def _writes(entries: Any) -> list[FieldWrite]:
    if not isinstance(entries, list):
        return []
    writes = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        manager = str(entry.get("manager") or "unknown")
        subresource = str(entry.get("subresource") or "")
        writes.append(
            FieldWrite(
                manager=manager,
                operation=str(entry.get("operation") or ""),
                time=_time_text(entry.get("time")),
                tool=manager_tool(manager),
                manual=manager.startswith("kubectl"),
                subresource=subresource,
                counted=subresource != "status" and manager not in HOUSEKEEPING_MANAGERS,
            )
        )
    # Newest first; entries without a time are older than any timed one; on a tie the later
    # entry wins (the API server appends).
    order = {id(w): i for i, w in enumerate(writes)}
    return sorted(writes, key=lambda w: (_parse(w.time), order[id(w)]), reverse=True)


def _time_text(value: Any) -> str | None:
    return str(value) if value else None


def _parse(value: str | None) -> datetime:
    if value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            # The API server writes UTC; a naive time is read as UTC so comparisons work.
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


# -- labels and annotations ---------------------------------------------------------------------


def _label_signals(metadata: Mapping[str, Any]) -> list[Signal]:
    labels = metadata.get("labels") or {}
    signals = [
        Signal("label", FLUX, f"Flux owner labels name {kind} {namespace}/{name}")
        for kind, namespace, name in flux_owner_labels(labels)
    ]
    instance = labels.get(INSTANCE_LABEL)
    if instance:
        signals.append(
            Signal(
                "label",
                ARGOCD,
                f"{INSTANCE_LABEL}={instance} (Argo CD label tracking; Helm charts set it too)",
                strong=False,
            )
        )
    return signals


def _tracking_signals(
    metadata: Mapping[str, Any], group: str | None, kind: str | None
) -> list[Signal]:
    value = (metadata.get("annotations") or {}).get(TRACKING_ID)
    if not value:
        return []
    parts = str(value).split(":", 2)
    if len(parts) != 3:
        return [Signal("annotation", ARGOCD, f"{TRACKING_ID} is unreadable: {value}", False)]
    app, group_kind, namespaced_name = parts
    t_group, _, t_kind = group_kind.partition("/")
    t_namespace, _, t_name = namespaced_name.partition("/")
    itself = (t_namespace, t_name) == (
        str(metadata.get("namespace") or ""),
        str(metadata.get("name") or ""),
    )
    if group is not None and kind:
        itself = itself and (t_group, t_kind) == (group, kind)
    if itself:
        return [Signal("annotation", ARGOCD, f"Argo CD tracking id names Application {app}")]
    return [
        Signal(
            "annotation",
            ARGOCD,
            f"Argo CD tracking id names Application {app} but describes {t_kind} "
            f"{namespaced_name}, not this object (a copy, ignored by Argo CD)",
            strong=False,
        )
    ]


def _claims_clause(signals: list[Signal]) -> str:
    """The strong claim markers, appended to the sentence after a semicolon."""
    parts = [s.detail for s in signals if s.source != "managedFields" and s.strong]
    return "; " + " and ".join(parts) if parts else ""
