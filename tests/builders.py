"""Small builders of Kubernetes objects for tests that need more objects than the demo has."""

from __future__ import annotations


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
