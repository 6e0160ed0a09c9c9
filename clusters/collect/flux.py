"""Flux CD kinds. Versions are not listed here: discovery picks the served one, so a cluster
still on helm.toolkit.fluxcd.io/v2beta1 is read as well as a current one."""

from __future__ import annotations

from clusters.collect.kinds import KindSpec

SOURCE = "source.toolkit.fluxcd.io"
KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
HELM = "helm.toolkit.fluxcd.io"
IMAGE = "image.toolkit.fluxcd.io"
NOTIFICATION = "notification.toolkit.fluxcd.io"

FLUX_KINDS: tuple[KindSpec, ...] = tuple(
    KindSpec("flux", group, kind)
    for group, kind in (
        (KUSTOMIZE, "Kustomization"),
        (HELM, "HelmRelease"),
        (SOURCE, "GitRepository"),
        (SOURCE, "OCIRepository"),
        (SOURCE, "HelmRepository"),
        (SOURCE, "HelmChart"),
        (SOURCE, "Bucket"),
        (IMAGE, "ImageRepository"),
        (IMAGE, "ImagePolicy"),
        (IMAGE, "ImageUpdateAutomation"),
        (NOTIFICATION, "Alert"),
        (NOTIFICATION, "Provider"),
        (NOTIFICATION, "Receiver"),
    )
)
