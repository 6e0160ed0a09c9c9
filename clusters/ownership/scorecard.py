"""ADR-003's success criteria, evaluated from an OwnershipReport and what was listed.

Every row is "pass", "fail" or "unknown"; "unknown" always says what was missing, so a cluster
Tidewatch cannot see into never scores as compliant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from clusters.ownership import controller_health, controllers
from clusters.ownership.analysis import NamespaceOwnership, OwnershipReport
from clusters.ownership.boundaries import ARGOCD, FLUX, TOOL_NAMES, TOOLS
from clusters.ownership.inputs import Monitor, Workload
from clusters.ownership.rules import names
from clusters.ownership.violations import (
    CLUSTER_SCOPED,
    CONTESTED,
    CROSS_BOUNDARY,
    DUPLICATE_CLAIM,
    ResourceId,
    Violation,
)

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"

DEGRADED = "Degraded"
# Evidence names the first few; the ownership page lists them all.
NAMED = 3


@dataclass
class ScoreRow:
    id: str
    title: str
    state: str  # pass | fail | unknown
    evidence: str  # one sentence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scorecard:
    rows: list[ScoreRow]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.state == PASS)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r.state == FAIL)

    @property
    def unknown(self) -> int:
        return sum(1 for r in self.rows if r.state == UNKNOWN)

    def row(self, row_id: str) -> ScoreRow | None:
        return next((r for r in self.rows if r.id == row_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "passed": self.passed,
            "failed": self.failed,
            "unknown": self.unknown,
            "total": len(self.rows),
        }


def build_scorecard(
    report: OwnershipReport,
    workloads: Iterable[Workload] | None,
    monitors: Iterable[Monitor] = (),
    monitoring_installed: bool | None = None,
    assessed: controller_health.ClusterControllers | None = None,
) -> Scorecard:
    """``workloads`` None: not collected. ``monitoring_installed``: whether the
    monitoring.coreos.com ServiceMonitor/PodMonitor kinds are served (None: not checked).
    ``assessed``: the Controllers view's findings (clusters/ownership/controller_health.py),
    computed from ``workloads`` with the default thresholds when not given."""
    listed = None if workloads is None else list(workloads)
    if assessed is None:
        assessed = controller_health.assess(report.boundaries, listed)
    return Scorecard(
        rows=[
            _controllers_row(report, FLUX, listed, assessed),
            _controllers_row(report, ARGOCD, listed, assessed),
            _conflicts_row(report),
            _shared_resources_row(report),
            _reconciled_row(report, FLUX),
            _reconciled_row(report, ARGOCD),
            _monitoring_row(report, listed, list(monitors), monitoring_installed),
        ]
    )


def find_controllers(
    report: OwnershipReport, tool: str, workloads: list[Workload]
) -> list[Workload]:
    """The tool's controllers, discovered from their labels (clusters/ownership/controllers)."""
    return controllers.find_controllers(report.boundaries, tool, workloads)


# -- rows ---------------------------------------------------------------------------------------


def _controllers_row(
    report: OwnershipReport,
    tool: str,
    workloads: list[Workload] | None,
    assessed: controller_health.ClusterControllers,
) -> ScoreRow:
    """Fails on what stops the tool working (a required component missing, replicas not
    ready); the Controllers view's warnings (restarts, version skew, deprecated-only APIs,
    memory over budget) follow in the evidence without failing it."""
    name = TOOL_NAMES[tool]
    namespace = report.boundaries.install_namespace(tool)
    row_id, title = f"{tool}-controllers", f"{name} controllers running and healthy"
    if workloads is None or not assessed.collected:
        return ScoreRow(row_id, title, UNKNOWN, "Deployments and StatefulSets were not collected.")
    found = assessed.tool(tool)
    notes = " ".join(f.sentence for f in found.notes)
    unready = [f"{c.name} ({c.ready}/{c.desired} ready)" for c in found.unready]
    if not found.missing and not unready:
        where = ", ".join(sorted({c.namespace for c in found.controllers}))
        evidence = (
            f"All {len(found.controllers)} {name} controllers in {where} are ready: "
            f"{', '.join(c.name for c in found.controllers)}."
        )
        return ScoreRow(row_id, title, PASS, f"{evidence} {notes}".strip())
    problems = []
    if found.missing:
        problems.append(f"missing from {namespace}: {', '.join(found.missing)}")
    if unready:
        problems.append(f"not ready: {', '.join(unready)}")
    evidence = f"{name} controllers {'; '.join(problems)}."
    return ScoreRow(row_id, title, FAIL, f"{evidence} {notes}".strip())


def _conflicts_row(report: OwnershipReport) -> ScoreRow:
    title = "No ownership conflicts"
    contested = report.by_code(CONTESTED)
    crossing = report.by_code(CROSS_BOUNDARY)
    if not contested and not crossing:
        return ScoreRow(
            "no-conflicts",
            title,
            PASS,
            "No resource is claimed by both tools and neither deploys across the boundary.",
        )
    parts = []
    if contested:
        parts.append(f"{len(contested)} resource{_s(contested)} claimed by both tools")
    if crossing:
        where = ", ".join(sorted({v.namespace for v in crossing}))
        parts.append(f"{len(crossing)} cross-boundary deployment{_s(crossing)} ({where})")
    return ScoreRow("no-conflicts", title, FAIL, f"Found {' and '.join(parts)}.")


def _shared_resources_row(report: OwnershipReport) -> ScoreRow:
    """ADR-003: shared resources (CRDs, cluster-level configs) are managed by Flux: none
    managed by the other tool (TW003), none claimed twice by one tool (TW005)."""
    owner = report.boundaries.cluster_scoped_owner
    row_id = "shared-resources"
    if owner is None:
        return ScoreRow(
            row_id,
            "Shared resources (CRDs, cluster-level configs) have one owner",
            UNKNOWN,
            "The boundaries declare no owner for cluster-scoped resources.",
        )
    name = TOOL_NAMES[owner]
    title = f"Shared resources (CRDs, cluster-level configs) managed by {name}"
    wrong_tool = report.by_code(CLUSTER_SCOPED)
    doubled = report.by_code(DUPLICATE_CLAIM)
    if not wrong_tool and not doubled:
        return ScoreRow(
            row_id,
            title,
            PASS,
            f"Every cluster-scoped resource a GitOps object manages is managed by {name}, and "
            "no resource is claimed by two objects of one tool.",
        )
    parts = []
    if wrong_tool:
        parts.append(
            f"{len(wrong_tool)} cluster-scoped resource{_s(wrong_tool)} managed by "
            f"{_tools([t for t in TOOLS if t != owner])} ({_named(wrong_tool)})"
        )
    if doubled:
        parts.append(
            f"{len(doubled)} resource{_s(doubled)} claimed twice by one tool ({_named(doubled)})"
        )
    return ScoreRow(row_id, title, FAIL, f"Found {' and '.join(parts)}.")


def _named(violations: list[Violation]) -> str:
    """The first few resources with who claims them, e.g. ClusterRole x by Application a/b."""
    shown = []
    for violation in violations[:NAMED]:
        what = _resource(violation.resource) if violation.resource else violation.explanation
        by = names(violation.objects)
        shown.append(f"{what} by {by}" if by else what)
    more = len(violations) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")


def _resource(resource: ResourceId) -> str:
    where = f"{resource.namespace}/" if resource.namespace else ""
    return f"{resource.kind} {where}{resource.name}"


def _reconciled_row(report: OwnershipReport, tool: str) -> ScoreRow:
    name = TOOL_NAMES[tool]
    kind = "Platform" if tool == FLUX else "Application"
    row_id = f"{kind.lower()}-namespaces"
    title = f"{kind} namespaces reconciled by {name}"
    declared = [
        n for n in report.namespaces if n.declared_owner == tool and (n.deployers or n.residents)
    ]
    if not declared:
        return ScoreRow(
            row_id, title, UNKNOWN, f"No namespace declared for {name} has GitOps objects yet."
        )
    problems, failing = [], set()
    for ns in declared:
        intruders = [t for t in ns.deployed_by if t != tool]
        if intruders:
            problems.append(f"{ns.namespace} is also deployed by {_tools(intruders)}")
            failing.add(ns.namespace)
        degraded = _degraded(ns, tool)
        if degraded:
            problems.append(f"{ns.namespace} has Degraded {', '.join(degraded)}")
            failing.add(ns.namespace)
    if not problems:
        return ScoreRow(
            row_id,
            title,
            PASS,
            f"All {len(declared)} {kind.lower()} namespaces with objects are deployed by {name} "
            f"only and none of {name}'s objects there is Degraded.",
        )
    return ScoreRow(
        row_id,
        title,
        FAIL,
        f"{len(failing)} of {len(declared)} {kind.lower()} namespaces fall short: "
        f"{'; '.join(problems)}.",
    )


def _monitoring_row(
    report: OwnershipReport,
    workloads: list[Workload] | None,
    monitors: list[Monitor],
    installed: bool | None,
) -> ScoreRow:
    row_id, title = "prometheus-monitoring", "Both tools monitored by Prometheus"
    if installed is None:
        return ScoreRow(
            row_id, title, UNKNOWN, "Tidewatch did not check for the monitoring.coreos.com CRDs."
        )
    if not installed:
        return ScoreRow(
            row_id,
            title,
            UNKNOWN,
            "The monitoring.coreos.com CRDs (ServiceMonitor, PodMonitor) are not installed, so "
            "there is no Prometheus Operator monitor to check.",
        )
    if workloads is None:
        return ScoreRow(row_id, title, UNKNOWN, "Deployments and StatefulSets were not collected.")
    uncovered, absent = [], []
    for tool in TOOLS:
        present = find_controllers(report, tool, workloads)
        if not present:
            absent.append(TOOL_NAMES[tool])
        for workload in present:
            if controllers.component(workload, tool) in controllers.NOT_SCRAPED[tool]:
                continue
            if not any(m.selects(workload) for m in monitors):
                uncovered.append(workload.name)
    if absent:
        return ScoreRow(
            row_id,
            title,
            UNKNOWN,
            f"No {' or '.join(absent)} controllers were found to check monitors against.",
        )
    if uncovered:
        return ScoreRow(
            row_id,
            title,
            FAIL,
            f"No ServiceMonitor or PodMonitor selects {', '.join(uncovered)}.",
        )
    return ScoreRow(
        row_id,
        title,
        PASS,
        "Every Flux and Argo CD controller is selected by a ServiceMonitor or PodMonitor.",
    )


def _degraded(ns: NamespaceOwnership, tool: str) -> list[str]:
    """The tool's Degraded objects deploying into or living in the namespace."""
    found = {
        o.key: o.display
        for o in [*ns.deployers, *ns.residents]
        if o.tool == tool and o.status == DEGRADED
    }
    return [found[k] for k in sorted(found)]


def _tools(tools: list[str]) -> str:
    return " and ".join(TOOL_NAMES[t] for t in tools)


def _s(items: list[Any]) -> str:
    return "" if len(items) == 1 else "s"
