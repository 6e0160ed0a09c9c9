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

# The controllers' Pods (restarts, and which PodMetrics are theirs): listed where the
# workloads are (install namespaces, and labelled part of a tool elsewhere), never the
# cluster's every Pod.
PODS = KindSpec("core", "", "Pod")
# metrics-server's aggregated API: usage of those Pods. Cannot be watched; re-read every
# TIDEWATCH_METRICS_SECONDS in watch mode, every poll in poll mode.
POD_METRICS = KindSpec("core", "metrics.k8s.io", "PodMetrics")
METRICS_NOT_SERVED = "metrics-server is not installed (metrics.k8s.io not served)"
