"""Two demo clusters in one clusters.yaml, as an operator would configure them: "healthy" stays
healthy, "faulty" gets the fault under test. Both are polled through the real kubernetes client
over real HTTP(S); nothing is patched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.utils import timezone

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster, TlsConfig
from clusters.demo.tls import Pki
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    ManagedResource,
    ObjectTarget,
    PollRun,
    StatusTransition,
)
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters

TOKEN = "reliability-token"
HEALTHY, FAULTY = "healthy", "faulty"

Key = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True)
class Probe:
    """An object whose status a test flips, to see whether its kind was read by a poll."""

    group: str
    plural: str
    kind: str
    namespace: str
    name: str
    status: dict[str, Any]
    became: str  # the status the flip produces (was Healthy)

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)

    def flip(self, demo: DemoCluster) -> None:
        demo.patch_status(self.group, self.plural, self.namespace, self.name, self.status)


def _ready_false(reason: str, message: str) -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-11-26T10:00:00Z",
                "observedGeneration": 1,
            }
        ]
    }


# Not istiod: the demo's drifted release, whose sync would move too when its conditions go.
HELMRELEASE = Probe(
    "helm.toolkit.fluxcd.io",
    "helmreleases",
    "HelmRelease",
    "bigbang",
    "cert-manager",
    _ready_false("UpgradeFailed", "Helm upgrade failed: timed out waiting for the condition"),
    "Degraded",
)
APPLICATION = Probe(
    "argoproj.io",
    "applications",
    "Application",
    "argocd",
    "portfolio",
    {"health": {"status": "Degraded", "message": "Deployment web: 0/3 ready"}},
    "Degraded",
)
KUSTOMIZATION = Probe(
    "kustomize.toolkit.fluxcd.io",
    "kustomizations",
    "Kustomization",
    "flux-system",
    "flux-system",
    _ready_false("BuildFailed", "kustomize build failed: accumulating resources"),
    "Degraded",
)


@dataclass
class World:
    directory: Path
    settings: Any
    healthy: DemoCluster
    faulty: DemoCluster
    pki: Pki | None = None
    kubeconfigs: dict[str, Path] = field(default_factory=dict)

    @property
    def clusters_file(self) -> Path:
        return self.directory / "clusters.yaml"

    def write_config(self, names: tuple[str, ...] = (HEALTHY, FAULTY)) -> list[Cluster]:
        entries = [
            {"name": name, "kubeconfig": str(self.kubeconfigs[name]), "context": "demo"}
            for name in names
        ]
        self.clusters_file.write_text(yaml.safe_dump({"clusters": entries}))
        self.settings.TIDEWATCH_CLUSTERS = str(self.clusters_file)
        return sync_clusters()

    def write_kubeconfig(self, name: str, *, ca_cert: Path | None = None) -> Path:
        demo = self.healthy if name == HEALTHY else self.faulty
        path = self.directory / f"{name}-kubeconfig.yaml"
        write_kubeconfig(path, demo.url, TOKEN, ca_cert=ca_cert)
        self.kubeconfigs[name] = path
        return path

    def cluster(self, name: str) -> Cluster:
        return Cluster.objects.get(name=name)

    def poll(self) -> dict[str, PollRun]:
        """Poll every enabled cluster once, as `manage.py poll` does."""
        return {c.name: poll_cluster(c) for c in Cluster.objects.filter(enabled=True)}

    def stop(self) -> None:
        self.healthy.stop()
        self.faulty.stop()


def make_world(directory: Path, settings: Any, pki: Pki | None = None) -> World:
    """Start both demo clusters (the faulty one over HTTPS when a PKI is given) and sync them."""
    healthy = DemoCluster(token=TOKEN)
    faulty = DemoCluster(token=TOKEN)
    healthy.start(port=0)
    tls = None
    if pki is not None:
        tls = TlsConfig(cert=pki.server_cert, key=pki.server_key)
    faulty.start(port=0, tls=tls)
    world = World(directory, settings, healthy, faulty, pki)
    world.write_kubeconfig(HEALTHY)
    world.write_kubeconfig(FAULTY, ca_cert=pki.ca_cert if pki else None)
    world.write_config()
    return world


# --- what the store holds ------------------------------------------------------------------------


def inventory(cluster: str) -> Counter[Key]:
    """(kind, namespace, name) of every stored object, counted (a count above 1 = a duplicate)."""
    return Counter(
        GitOpsObject.objects.filter(cluster__name=cluster).values_list("kind", "namespace", "name")
    )


def rows(cluster: str, kind: str) -> dict[Key, tuple[str, str, str, str]]:
    """The stored (status, sync, resourceVersion, message) of every object of one kind."""
    return {
        (kind, ns, name): (status, sync, rv, message)
        for ns, name, status, sync, rv, message in GitOpsObject.objects.filter(
            cluster__name=cluster, kind=kind
        ).values_list("namespace", "name", "status", "sync", "resource_version", "message")
    }


def claim_counts(cluster: str) -> tuple[int, int]:
    return (
        ManagedResource.objects.filter(cluster__name=cluster).count(),
        ObjectTarget.objects.filter(cluster__name=cluster).count(),
    )


def last_transition_id() -> int:
    last = StatusTransition.objects.order_by("-id").first()
    return last.id if last else 0


def transitions_since(mark: int, cluster: str) -> set[tuple[str, str, str, str, str, str]]:
    """New transitions of one cluster as (kind, namespace, name, field, from, to)."""
    found = list(
        StatusTransition.objects.filter(id__gt=mark, cluster__name=cluster).values_list(
            "kind", "namespace", "name", "field", "from_value", "to_value"
        )
    )
    assert len(found) == len(set(found)), f"a transition was recorded twice: {found}"
    return set(found)


def status_change(probe: Probe) -> tuple[str, str, str, str, str, str]:
    return (*probe.key, StatusTransition.STATUS, "Healthy", probe.became)


def backdate(cluster: str, minutes: int) -> timezone.datetime:
    """Pretend the last good poll of ``cluster`` was ``minutes`` ago; returns that time."""
    at = timezone.now() - timedelta(minutes=minutes)
    Cluster.objects.filter(name=cluster).update(last_success_at=at)
    KindState.objects.filter(cluster__name=cluster, last_success_at__isnull=False).update(
        last_success_at=at
    )
    return at
