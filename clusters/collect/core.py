"""Plain Kubernetes kinds the dashboard needs besides the GitOps objects."""

from __future__ import annotations

from clusters.collect.kinds import KindSpec

NAMESPACES = KindSpec("core", "", "Namespace")
