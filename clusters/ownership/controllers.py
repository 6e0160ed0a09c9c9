"""Which Deployments and StatefulSets are Flux's or Argo CD's own controllers (pure).

Discovered from what the installs put on their workloads, not from a fixed list of names, so
optional components (image-reflector/image-automation, ApplicationSet, notifications, Dex,
Redis) are checked when they run:

- ``app.kubernetes.io/part-of: flux`` / ``argocd``, anywhere: Flux's install labels every
  object (with ``app.kubernetes.io/instance: flux-system`` and ``app.kubernetes.io/version``),
  Argo CD's manifests and Helm chart label every workload ``part-of: argocd`` with
  ``app.kubernetes.io/name: argocd-<component>`` and ``app.kubernetes.io/component``;
- in the tool's install namespace, installs without part-of: Flux's instance/version labels or
  a known component name; for Argo CD an ``argocd-`` name.

Each controller's *component* is what the required set is checked against:
``app.kubernetes.io/component`` when set, else the name (Argo CD's without ``argocd-``).
"""

from __future__ import annotations

from collections.abc import Iterable

from clusters.ownership.boundaries import ARGOCD, FLUX, Boundaries
from clusters.ownership.inputs import Workload

CONTROLLER_KINDS = ("Deployment", "StatefulSet")
PART_OF_LABEL = "app.kubernetes.io/part-of"
COMPONENT_LABEL = "app.kubernetes.io/component"
INSTANCE_LABEL = "app.kubernetes.io/instance"
VERSION_LABEL = "app.kubernetes.io/version"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF = {FLUX: "flux", ARGOCD: "argocd"}
# What a working install cannot do without: absent ones fail the scorecard row.
REQUIRED = {
    FLUX: (
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ),
    ARGOCD: ("server", "repo-server", "application-controller"),
}
# Known optional components: recognised by name in an install namespace without labels.
OPTIONAL = {
    FLUX: ("image-reflector-controller", "image-automation-controller", "source-watcher"),
    ARGOCD: (
        "applicationset-controller",
        "notifications-controller",
        "dex-server",
        "redis",
        "commit-server",
    ),
}
# Argo CD's Redis is a cache with no metrics endpoint unless an exporter is added: a missing
# monitor there is not a monitoring gap.
NOT_SCRAPED = {FLUX: (), ARGOCD: ("redis",)}


def component(workload: Workload, tool: str) -> str:
    """The component a controller runs, e.g. source-controller, server, redis (see above)."""
    labelled = workload.labels.get(COMPONENT_LABEL, "")
    if labelled:
        return labelled
    if tool == ARGOCD:
        return workload.name.removeprefix("argocd-")
    return workload.labels.get("app", "") or workload.name


def display_name(component_name: str, tool: str) -> str:
    """The usual workload name of a component: Argo CD's carry an ``argocd-`` prefix."""
    return f"argocd-{component_name}" if tool == ARGOCD else component_name


def is_controller(workload: Workload, tool: str, install_namespace: str) -> bool:
    if workload.kind not in CONTROLLER_KINDS:
        return False
    labels = workload.labels
    part_of = labels.get(PART_OF_LABEL)
    if part_of:
        return part_of == PART_OF[tool]
    if workload.namespace != install_namespace:
        return False
    if tool == FLUX:
        flux_install = labels.get(INSTANCE_LABEL) == install_namespace and VERSION_LABEL in labels
        return flux_install or component(workload, FLUX) in (*REQUIRED[FLUX], *OPTIONAL[FLUX])
    return workload.name.startswith("argocd-") or labels.get(NAME_LABEL, "").startswith("argocd-")


def find_controllers(
    boundaries: Boundaries, tool: str, workloads: Iterable[Workload]
) -> list[Workload]:
    """The tool's controllers among the listed workloads: the install namespace first, the
    required components in their usual order, then the rest by name."""
    install = boundaries.install_namespace(tool)
    known = (*REQUIRED[tool], *OPTIONAL[tool])

    def order(w: Workload) -> tuple[bool, str, int, str]:
        role = component(w, tool)
        return (
            w.namespace != install,
            w.namespace,
            known.index(role) if role in known else len(known),
            w.name,
        )

    return sorted((w for w in workloads if is_controller(w, tool, install)), key=order)


def missing_components(tool: str, controllers: Iterable[Workload]) -> list[str]:
    present = {component(w, tool) for w in controllers}
    return [name for name in REQUIRED[tool] if name not in present]
