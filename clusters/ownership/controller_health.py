"""How Flux's and Argo CD's own controllers are doing (pure): what the Controllers page shows and
what the scorecard's "running and healthy" rows are decided from.

Per controller (discovered by clusters/ownership/controllers.py): its component, version (the
``app.kubernetes.io/version`` label, else the first container image's tag), ready/desired
replicas, restarts and metrics.k8s.io usage. Per tool, the findings, each one sentence:

- failing (the scorecard row fails): a required component missing, replicas not ready;
- warnings (said, not failed): restarts at or over a threshold (restart counts are cumulative
  since the pods started, so they cannot tell a crash loop of now from one last month; a pod
  crash-looping now is not ready, which fails), Flux controllers at different versions,
  API kinds served only at deprecated versions (they block the next upgrade, the controllers
  still reconcile today), Argo CD's measured memory over the ADR's budget.

Nothing is guessed: usage not measured is "not available" with the reason the store holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clusters.ownership import controllers
from clusters.ownership.boundaries import ARGOCD, FLUX, TOOL_NAMES, TOOLS, Boundaries
from clusters.ownership.inputs import Workload

MIB = 1024 * 1024
DEFAULT_MEMORY_BUDGET_MB = 500  # ADR-003: "~500 MB of memory for Argo CD"
DEFAULT_RESTARTS_WARN = 5
# Which tool a deprecated-only API group belongs to.
TOOL_GROUP_SUFFIX = {FLUX: "toolkit.fluxcd.io", ARGOCD: "argoproj.io"}

BAD, WARN = "bad", "warn"
# Finding codes (stable: tests, the JSON API and the page's data attributes use them).
NOT_COLLECTED = "not-collected"
MISSING = "missing"
NOT_READY = "not-ready"
RESTARTS = "restarts"
VERSION_SKEW = "version-skew"
DEPRECATED_API = "deprecated-api"
MEMORY_BUDGET = "memory-budget"


def image_tag(image: str) -> str:
    """The tag of an image reference: ``ghcr.io/fluxcd/source-controller:v1.6.0`` → ``v1.6.0``;
    "" for a digest-only or untagged reference (a registry's ``host:port`` is not a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def image_names(images: Iterable[Any]) -> list[str]:
    """Image references from the stored list: strings, or {"image": ...} per container."""
    found = []
    for item in images or ():
        value = item.get("image") if isinstance(item, Mapping) else item
        if isinstance(value, str) and value:
            found.append(value)
    return found


def controller_version(labels: Mapping[str, str], images: Iterable[Any]) -> tuple[str, str]:
    """(version, where it came from: "label", "image" or ""): the version label the installs set
    (Flux: its release, e.g. v2.7.3; Argo CD's chart: its app version), else the first
    container's image tag."""
    label = str(labels.get(controllers.VERSION_LABEL) or "").strip()
    if label:
        return label, "label"
    for image in image_names(images):
        tag = image_tag(image)
        if tag:
            return tag, "image"
        break  # the main container's image has no tag: a sidecar's would mislead
    return "", ""


@dataclass(frozen=True)
class Controller:
    tool: str
    component: str
    version: str
    version_source: str  # "label" | "image" | ""
    image_tag: str  # the first container image's tag, shown beside a label version
    required: bool
    workload: Workload

    @property
    def name(self) -> str:
        return self.workload.name

    @property
    def namespace(self) -> str:
        return self.workload.namespace

    @property
    def kind(self) -> str:
        return self.workload.kind

    @property
    def ready(self) -> int:
        return self.workload.ready

    @property
    def desired(self) -> int:
        return self.workload.desired

    @property
    def is_ready(self) -> bool:
        return self.workload.is_ready

    @property
    def restarts(self) -> int:
        return self.workload.restarts

    @property
    def usage(self) -> dict[str, int] | None:
        return self.workload.usage

    @property
    def usage_stale(self) -> bool:
        """Figures kept from an earlier read: the last one failed or lacked this workload's
        pods (the store keeps the last usage and says why in usage_reason)."""
        return self.workload.usage is not None and bool(self.workload.usage_reason)

    @property
    def cpu_millicores(self) -> int | None:
        return _usage_value(self.workload.usage, "cpuMillicores")

    @property
    def memory_bytes(self) -> int | None:
        return _usage_value(self.workload.usage, "memoryBytes")

    @property
    def images(self) -> list[str]:
        return image_names(self.workload.images)


def _usage_value(usage: Mapping[str, Any] | None, key: str) -> int | None:
    if not isinstance(usage, Mapping):
        return None
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Finding:
    tool: str
    code: str
    tone: str  # bad | warn
    sentence: str
    failing: bool  # counts against the scorecard's "running and healthy" row

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "code": self.code,
            "tone": self.tone,
            "sentence": self.sentence,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class Memory:
    """A tool's controllers' memory: the measured sum, and who was not measured (and why)."""

    used_bytes: int | None  # None: none measured
    unmeasured: tuple[str, ...]
    reason: str  # why not measured (the first reason the store gives)
    budget_bytes: int | None  # Argo CD's ADR budget; None for Flux

    @property
    def over(self) -> bool:
        return (
            self.budget_bytes is not None
            and self.used_bytes is not None
            and self.used_bytes > self.budget_bytes
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "usedBytes": self.used_bytes,
            "budgetBytes": self.budget_bytes,
            "overBudget": self.over,
            "unmeasured": list(self.unmeasured),
            "reason": self.reason or None,
        }


@dataclass
class ToolControllers:
    tool: str
    install_namespace: str
    controllers: list[Controller]
    missing: list[str]  # required components absent, as workload names
    memory: Memory
    findings: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str:
        return TOOL_NAMES[self.tool]

    @property
    def unready(self) -> list[Controller]:
        return [c for c in self.controllers if not c.is_ready]

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.failing]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if not f.failing]

    @property
    def versions(self) -> list[str]:
        return sorted({c.version for c in self.controllers if c.version})


@dataclass
class ClusterControllers:
    collected: bool  # False: Deployments/StatefulSets never listed, nothing can be told
    tools: list[ToolControllers]

    @property
    def findings(self) -> list[Finding]:
        return [f for t in self.tools for f in t.findings]

    @property
    def tone(self) -> str:
        """The page's colour: bad when something fails, warn for notes, ok otherwise."""
        if not self.collected or any(f.tone == BAD for f in self.findings):
            return BAD if self.collected else WARN
        return WARN if self.findings else "ok"

    def tool(self, tool: str) -> ToolControllers:
        return next(t for t in self.tools if t.tool == tool)


def assess(
    boundaries: Boundaries,
    workloads: Sequence[Workload] | None,
    deprecated_apis: Iterable[Mapping[str, Any]] = (),
    *,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    restarts_warn: int = DEFAULT_RESTARTS_WARN,
    metrics_reason: str = "",
) -> ClusterControllers:
    """Every tool's controllers and findings. ``workloads`` None: not collected.
    ``metrics_reason``: why usage is missing when a workload row gives no reason of its own."""
    if workloads is None:
        unknown = Finding(
            FLUX,
            NOT_COLLECTED,
            WARN,
            "Deployments and StatefulSets were not collected yet, so neither tool's "
            "controllers can be checked.",
            False,
        )
        return ClusterControllers(
            False,
            [
                ToolControllers(
                    tool,
                    boundaries.install_namespace(tool),
                    [],
                    [],
                    Memory(None, (), "", _budget(tool, memory_budget_mb)),
                    [unknown] if tool == FLUX else [],
                )
                for tool in TOOLS
            ],
        )
    deprecated = [d for d in deprecated_apis if isinstance(d, Mapping)]
    tools = [
        _tool(
            boundaries,
            tool,
            workloads,
            deprecated,
            memory_budget_mb,
            restarts_warn,
            metrics_reason,
        )
        for tool in TOOLS
    ]
    return ClusterControllers(True, tools)


def _budget(tool: str, memory_budget_mb: int) -> int | None:
    return memory_budget_mb * MIB if tool == ARGOCD else None


def _tool(
    boundaries: Boundaries,
    tool: str,
    workloads: Sequence[Workload],
    deprecated: list[Mapping[str, Any]],
    memory_budget_mb: int,
    restarts_warn: int,
    metrics_reason: str,
) -> ToolControllers:
    found = controllers.find_controllers(boundaries, tool, workloads)
    rows = []
    for w in found:
        role = controllers.component(w, tool)
        version, source = controller_version(w.labels, w.images)
        first = image_names(w.images)
        rows.append(
            Controller(
                tool=tool,
                component=role,
                version=version,
                version_source=source,
                image_tag=image_tag(first[0]) if first else "",
                required=role in controllers.REQUIRED[tool],
                workload=w,
            )
        )
    missing = [
        controllers.display_name(c, tool) for c in controllers.missing_components(tool, found)
    ]
    result = ToolControllers(
        tool,
        boundaries.install_namespace(tool),
        rows,
        missing,
        _memory(rows, _budget(tool, memory_budget_mb), metrics_reason),
    )
    result.findings = _findings(result, deprecated, restarts_warn)
    return result


def _memory(rows: list[Controller], budget: int | None, metrics_reason: str) -> Memory:
    measured = [c.memory_bytes for c in rows if c.memory_bytes is not None]
    unmeasured = tuple(c.name for c in rows if c.memory_bytes is None)
    reasons = [c.workload.usage_reason for c in rows if c.memory_bytes is None]
    reason = next((r for r in reasons if r), metrics_reason) if unmeasured else ""
    return Memory(sum(measured) if measured else None, unmeasured, reason, budget)


def _findings(
    tool: ToolControllers, deprecated: list[Mapping[str, Any]], restarts_warn: int
) -> list[Finding]:
    name, code = tool.name, tool.tool
    found = []
    if tool.missing:
        found.append(
            Finding(
                code,
                MISSING,
                BAD,
                f"{name} is missing {_and(tool.missing)} from {tool.install_namespace}: "
                f"{'it is' if len(tool.missing) == 1 else 'they are'} required for {name} "
                "to reconcile.",
                True,
            )
        )
    for c in tool.unready:
        found.append(
            Finding(
                code,
                NOT_READY,
                BAD,
                f"{c.namespace}/{c.name} has {c.ready} of {c.desired} replicas ready"
                + (" (scaled to zero)." if c.desired == 0 else "."),
                True,
            )
        )
    for c in tool.controllers:
        if restarts_warn and c.restarts >= restarts_warn:
            found.append(
                Finding(
                    code,
                    RESTARTS,
                    WARN,
                    f"{c.namespace}/{c.name}'s containers restarted {c.restarts} times since "
                    "their pods started: look at its logs and last termination reason.",
                    False,
                )
            )
    if tool.tool == FLUX:
        skew = flux_skew(tool.controllers)
        if skew:
            found.append(Finding(code, VERSION_SKEW, WARN, skew, False))
    for item in deprecated:
        group = str(item.get("group") or "")
        if not group.endswith(TOOL_GROUP_SUFFIX[tool.tool]):
            continue
        found.append(Finding(code, DEPRECATED_API, WARN, deprecated_sentence(item), False))
    memory = tool.memory
    if memory.over and memory.used_bytes is not None and memory.budget_bytes is not None:
        partial = (
            f" ({len(memory.unmeasured)} not measured: at least that much)"
            if memory.unmeasured
            else ""
        )
        found.append(
            Finding(
                code,
                MEMORY_BUDGET,
                WARN,
                f"{name}'s controllers use {mebibytes(memory.used_bytes)} of memory{partial}, "
                f"over the ADR's {mebibytes(memory.budget_bytes)} budget.",
                False,
            )
        )
    return found


def flux_skew(rows: Sequence[Controller]) -> str:
    """A sentence when a cluster's Flux controllers carry different release versions. Only the
    version label counts: each Flux controller's image has its own version line (source-
    controller v1.x, helm-controller v1.y), so image tags differ by design."""
    by_version: dict[str, list[str]] = {}
    for c in rows:
        if c.version_source == "label":
            by_version.setdefault(c.version, []).append(c.name)
    if len(by_version) < 2:
        return ""
    parts = [f"{v} ({', '.join(names)})" for v, names in sorted(by_version.items())]
    return f"Flux controllers run different releases: {'; '.join(parts)}."


def deprecated_sentence(item: Mapping[str, Any]) -> str:
    """ "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: upgrade
    blocker." """
    group, kind = str(item.get("group") or ""), str(item.get("kind") or "")
    served = [str(v) for v in item.get("served") or () if v]
    wanted = str(item.get("wanted") or "")
    at = _and([f"{group}/{v}" for v in served]) if served else f"a deprecated {group} version"
    return f"{kind} is served only at {at}{f', not {wanted}' if wanted else ''}: upgrade blocker."


def mebibytes(value: int) -> str:
    return f"{round(value / MIB):,} MiB"


def millicores(value: int) -> str:
    return f"{value:,}m"


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


# -- across clusters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    """One tool/component across clusters: the versions each cluster runs (several when a
    component runs as more than one workload, e.g. sharded)."""

    tool: str
    component: str
    versions: dict[str, list[str]]  # cluster name -> sorted versions ("" = not reported)

    @property
    def skew(self) -> bool:
        found = {v for vs in self.versions.values() for v in vs if v}
        return len(found) > 1

    @property
    def compared(self) -> int:
        """Clusters that report a version of it: "same" means something from two on."""
        return sum(1 for vs in self.versions.values() if any(vs))

    def cells(self, clusters: Sequence[str]) -> list[list[str]]:
        return [self.versions.get(name, []) for name in clusters]


def version_matrix(by_cluster: Mapping[str, ClusterControllers]) -> list[VersionRow]:
    """Rows tool/component (the required ones first, in their usual order), columns clusters."""
    table: dict[tuple[str, str], dict[str, set[str]]] = {}
    for cluster, assessed in by_cluster.items():
        for tool in assessed.tools:
            for c in tool.controllers:
                table.setdefault((c.tool, c.component), {}).setdefault(cluster, set()).add(
                    c.version
                )

    def order(key: tuple[str, str]) -> tuple[int, int, str]:
        tool, role = key
        known = (*controllers.REQUIRED[tool], *controllers.OPTIONAL[tool])
        return (TOOLS.index(tool), known.index(role) if role in known else len(known), role)

    return [
        VersionRow(tool, role, {c: sorted(vs) for c, vs in table[(tool, role)].items()})
        for tool, role in sorted(table, key=order)
    ]
