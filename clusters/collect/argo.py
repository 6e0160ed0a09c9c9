"""Argo CD kinds. Applications are listed across all namespaces, which covers
"apps in any namespace" installs as well as the classic everything-in-argocd layout."""

from __future__ import annotations

from clusters.collect.kinds import KindSpec

ARGO = "argoproj.io"

ARGO_KINDS: tuple[KindSpec, ...] = (
    KindSpec("argocd", ARGO, "Application"),
    KindSpec("argocd", ARGO, "ApplicationSet"),
    KindSpec("argocd", ARGO, "AppProject"),
)
