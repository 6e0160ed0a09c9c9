"""The scaled platform (clusters.demo.scale): counts, spread, statuses, schema validity and the
"1 % changed" mutation, at N=200 so the suite stays fast. The benchmark (bench/run.py) relies on
every one of these at 20,000."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from clusters.demo.crds import find_crd, unknown_fields
from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.scale import BOUNDARIES, build_scaled_platform, mutate, state_of
from clusters.demo.server import DemoCluster
from clusters.status.normalize import normalize

Obj = dict[str, Any]
N = 200
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FLUX_GROUPS = {"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"}
GITOPS_GROUPS = FLUX_GROUPS | {"argoproj.io"}


def group(obj: Obj) -> str:
    return obj["apiVersion"].rpartition("/")[0]


def gitops(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if group(o) in GITOPS_GROUPS]


@pytest.fixture(scope="module")
def platform() -> list[Obj]:
    return build_scaled_platform(N, seed=0, now=NOW)


@pytest.fixture(scope="module")
def served(platform: list[Obj]) -> Iterator[DemoCluster]:
    # DemoCluster prunes and validates every custom object on apply, as admission does: a
    # schema violation raises here.
    cluster = DemoCluster(objects=platform)
    yield cluster


def test_n_gitops_objects_half_flux_half_argo(platform: list[Obj]) -> None:
    objects = gitops(platform)
    assert len(objects) == N
    flux = [o for o in objects if group(o) in FLUX_GROUPS]
    assert len(flux) == N // 2
    kinds = Counter(o["kind"] for o in objects)
    assert kinds == {
        "Application": 99,
        "AppProject": 1,
        "Kustomization": 40,
        "HelmRelease": 20,
        "HelmChart": 20,
        "GitRepository": 10,
        "HelmRepository": 10,
    }


def test_about_ten_managed_resources_per_applier(platform: list[Obj]) -> None:
    for obj in gitops(platform):
        record = normalize(obj)
        expected = 10 if obj["kind"] in ("Kustomization", "HelmRelease", "Application") else 0
        assert len(record.managed) == expected, obj["metadata"]["name"]
        if expected:
            # Appliers deploy into their tenant namespace only: no accidental violations.
            assert record.target_namespaces == [
                obj["spec"].get("destination", {}).get("namespace") or obj["metadata"]["namespace"]
            ]


def test_spread_over_n_over_ten_namespaces(platform: list[Obj]) -> None:
    names = [o["metadata"]["name"] for o in platform if o["kind"] == "Namespace"]
    tenants = [n for n in names if n.startswith(("platform-", "team-"))]
    assert len(tenants) == N // 10
    assert {"flux-system", "argocd"} <= set(names)
    flux_homes = Counter(
        o["metadata"]["namespace"] for o in gitops(platform) if group(o) in FLUX_GROUPS
    )
    assert set(flux_homes) == {n for n in tenants if n.startswith("platform-")}
    assert set(flux_homes.values()) == {10}
    targets = Counter(
        o["spec"]["destination"]["namespace"] for o in platform if o["kind"] == "Application"
    )
    assert set(targets) == {n for n in tenants if n.startswith("team-")}
    assert max(targets.values()) == 10


def test_statuses_are_mostly_green_with_the_planned_shares(platform: list[Obj]) -> None:
    records = [normalize(o) for o in gitops(platform)]
    statuses = Counter(r.status.value for r in records)
    assert statuses["Degraded"] == round(0.03 * N)
    assert statuses["Progressing"] == round(0.03 * N)
    assert statuses["Healthy"] == N - statuses["Degraded"] - statuses["Progressing"]
    healthy_out_of_sync = [
        r for r in records if r.status.value == "Healthy" and r.sync == "OutOfSync"
    ]
    assert len(healthy_out_of_sync) == round(0.02 * N)
    assert all(r.kind == "Application" for r in healthy_out_of_sync)
    assert not [r for r in records if r.reason == "Malformed" or r.status.value == "Unknown"]


def test_every_object_validates_against_its_crd_schema(
    platform: list[Obj], served: DemoCluster
) -> None:
    checked = 0
    for obj in platform:
        crd = find_crd(obj["apiVersion"], obj["kind"])
        if crd is None:
            continue
        where = f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        errors = list(jsonschema.Draft4Validator(crd.schema).iter_errors(obj))
        assert errors == [], where
        assert unknown_fields(obj, crd.schema) == [], where  # nothing a real API server prunes
        checked += 1
    assert checked == N
    listed = served.list("argoproj.io", "applications")
    assert len(listed) == 99


def test_deterministic_for_a_seed(platform: list[Obj]) -> None:
    assert build_scaled_platform(N, seed=0, now=NOW) == platform
    other = build_scaled_platform(N, seed=1, now=NOW)

    def names(objects: list[Obj]) -> list[str]:
        # Events follow the red objects, which the seed picks; everything else is the same.
        return [o["metadata"]["name"] for o in objects if o["kind"] != "Event"]

    assert names(other) == names(platform)
    assert other != platform


def test_mutate_changes_the_status_of_a_fraction(platform: list[Obj], served: DemoCluster) -> None:
    before = yaml.safe_dump(platform)
    changed = mutate(platform, 0.05, seed=3, now=NOW)

    assert yaml.safe_dump(platform) == before, "the input is not touched"
    assert len(changed) == round(0.05 * N)
    assert mutate(platform, 0.05, seed=3, now=NOW) == changed

    def key(obj: Obj) -> tuple[str, str, str]:
        return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    originals = {key(o): o for o in platform}
    for obj in changed:
        old = originals[key(obj)]
        assert state_of(obj) != state_of(old)
        new_record, old_record = normalize(obj), normalize(old)
        assert (new_record.status, new_record.sync) != (old_record.status, old_record.sync)

    rv = served.resource_version
    for obj in changed:
        stored = served.apply(obj)  # validates: mutated objects are still schema-valid
        assert int(stored["metadata"]["resourceVersion"]) > rv


def test_a_poll_stores_the_scaled_platform_without_violations(
    platform: list[Obj], tmp_path: Path, settings, db
) -> None:
    from clusters.models import GitOpsObject, ManagedResource, NamespaceRollup, Violation
    from clusters.poll import poll_cluster
    from clusters.registry import sync_clusters

    cluster = DemoCluster(objects=platform)
    cluster.start()
    try:
        assert cluster.url is not None
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig.yaml", cluster.url, cluster.token)
        (tmp_path / "boundaries.yaml").write_text(BOUNDARIES)
        clusters_file = tmp_path / "clusters.yaml"
        clusters_file.write_text(
            yaml.safe_dump(
                {
                    "clusters": [
                        {
                            "name": "scale",
                            "kubeconfig": str(kubeconfig),
                            "context": "demo",
                            "ownership": "boundaries.yaml",
                        }
                    ]
                }
            )
        )
        settings.TIDEWATCH_CLUSTERS = str(clusters_file)
        (row,) = sync_clusters()
        run = poll_cluster(row)
    finally:
        cluster.stop()

    assert run.ok, run.errors
    assert run.objects_written == N == GitOpsObject.objects.count()
    assert ManagedResource.objects.count() == 10 * (40 + 20 + 99)
    assert NamespaceRollup.objects.filter(namespace__startswith="team-").count() == N // 20
    assert list(Violation.objects.values_list("code", flat=True)) == []


def test_the_cli_serves_a_scaled_platform(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from kubernetes import client
    from kubernetes.config import new_client_from_config

    repo = Path(__file__).resolve().parents[2]
    kubeconfig = tmp_path / "kc.yaml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clusters.demo",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--scale",
            "40",
        ],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("demo cluster serving")
        api = new_client_from_config(config_file=str(kubeconfig), context="demo")
        custom = client.CustomObjectsApi(api)
        argo = sum(
            len(custom.list_cluster_custom_object("argoproj.io", "v1alpha1", plural)["items"])
            for plural in ("applications", "applicationsets", "appprojects")
        )
        assert argo == 20, "half of the 40 GitOps objects are Argo CD's"
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0
