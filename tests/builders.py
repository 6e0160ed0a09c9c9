"""Small builders of Kubernetes objects for tests that need more objects than the demo has."""

from __future__ import annotations

# The namespaces issue 2 says the demo overview must list (ADR-003's platform and apps).
ADR_NAMESPACES = frozenset(
    {
        "flux-system",
        "bigbang",
        "istio-system",
        "monitoring",
        "gitlab",
        "cert-manager",
        "argocd",
        "portfolio",
        "data-platform",
        "ai-services",
        "demo-apps",
    }
)


def extra_application(index: int) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"extra-{index}", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/apps.git", "path": f"apps/{index}"},
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": f"team-{index % 10}",
            },
        },
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }
