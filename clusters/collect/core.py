"""Plain Kubernetes kinds the dashboard needs besides the GitOps objects."""

from __future__ import annotations

from clusters.collect.kinds import KindSpec

NAMESPACES = KindSpec("core", "", "Namespace")

# Controller workloads: the ADR scorecard asks whether Flux and Argo CD are running, and
# ownership asks who deployed Argo CD itself. Listed whole in the tools' install namespaces,
# and elsewhere only when labelled part of either tool (the API server filters): listing every
# Deployment of a large cluster would cost far more than it tells. Which of them are
# controllers is decided later from their labels (clusters/ownership/controllers.py).
WORKLOAD_KINDS: tuple[KindSpec, ...] = (
    KindSpec("core", "apps", "Deployment"),
    KindSpec("core", "apps", "StatefulSet"),
)
CONTROLLER_NAMESPACES: tuple[str, ...] = ("flux-system", "argocd")
CONTROLLER_SELECTOR = "app.kubernetes.io/part-of in (flux,argocd)"

# prometheus-operator monitors: is each controller scraped? Optional CRDs.
MONITOR_KINDS: tuple[KindSpec, ...] = (
    KindSpec("core", "monitoring.coreos.com", "ServiceMonitor"),
    KindSpec("core", "monitoring.coreos.com", "PodMonitor"),
)

# Kubernetes Events about GitOps objects (the controllers' own account of what happened).
EVENTS = KindSpec("core", "", "Event")
