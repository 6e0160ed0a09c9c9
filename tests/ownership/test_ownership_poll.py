"""Each ownership violation kind, built from objects the demo cluster serves over HTTP."""

from __future__ import annotations

import pytest
import yaml

from clusters.models import NamespaceRollup, OwnershipReport, Violation
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters

pytestmark = pytest.mark.django_db


@pytest.fixture
def polled(demo_cluster):
    poll_cluster(demo_cluster)
    return demo_cluster


def violation(code: str, **lookup) -> Violation:
    return Violation.objects.get(code=code, **lookup)


def test_kind1_argo_cd_deploys_into_a_flux_namespace(polled):
    found = violation("TW001", namespace="istio-system")
    assert found.tool == "argocd" and found.severity == "high"
    assert "Application argocd/portfolio" in found.explanation
    assert "Application/argocd/portfolio" in found.object_keys


def test_kind2_an_object_claimed_by_both_tools(polled):
    found = violation("TW002")
    assert found.resource == "/ConfigMap:monitoring/grafana-dashboard-portfolio"
    assert found.severity == "critical" and "will fight" in found.explanation
    assert set(found.object_keys) == {
        "HelmRelease/bigbang/monitoring",
        "Application/argocd/portfolio",
    }
    contested = OwnershipReport.objects.get().resources
    (resource,) = [r for r in contested if r["key"] == found.resource]
    lineages = {c["tool"]: c["lineage"] for c in resource["claimed_by"]}
    assert lineages["flux"][:2] == ["HelmRelease/bigbang/monitoring", "HelmRelease/bigbang/bigbang"]


def test_kind3_argo_cd_manages_a_cluster_scoped_resource(polled):
    found = violation("TW003")
    assert "ClusterRole" in found.resource and "data-platform-spark" in found.resource
    assert "Application/argocd/data-platform" in found.object_keys


def test_kind4_argo_cd_not_deployed_by_flux(demo, demo_cluster):
    server = demo.get("apps", "deployments", "argocd", "argocd-server")
    labels = server["metadata"]["labels"]
    labels.pop("helm.toolkit.fluxcd.io/name")
    labels.pop("helm.toolkit.fluxcd.io/namespace")
    demo.apply(server)
    hr = demo.get("helm.toolkit.fluxcd.io", "helmreleases", "bigbang", "argocd")
    hr["status"]["inventory"]["entries"] = [
        e for e in hr["status"]["inventory"]["entries"] if "argocd-server" not in e["id"]
    ]
    demo.apply(hr)

    poll_cluster(demo_cluster)

    found = violation("TW004")
    assert "argocd-server" in found.explanation


def test_kind5_one_object_claimed_twice_by_the_same_tool(demo, demo_cluster):
    twin = demo.get(
        "kustomize.toolkit.fluxcd.io", "kustomizations", "flux-system", "infrastructure"
    )
    twin["metadata"] = {"name": "infrastructure-copy", "namespace": "flux-system"}
    demo.apply(twin)

    poll_cluster(demo_cluster)

    twice = Violation.objects.filter(code="TW005")
    assert twice.exists()
    assert any("Kustomization/flux-system/infrastructure-copy" in v.object_keys for v in twice)


def test_kind6_a_managed_namespace_without_a_declared_owner(polled):
    found = violation("TW006", namespace="sandbox")
    assert "Application argocd/sandbox-experiments" in found.explanation


def test_no_false_positives_on_the_demo_platform(polled):
    assert sorted(Violation.objects.values_list("code", flat=True)) == [
        "TW001",
        "TW002",
        "TW003",
        "TW006",
    ]


def test_violations_persist_with_their_first_seen_time(polled):
    first = violation("TW002").first_seen_at
    poll_cluster(polled)
    again = violation("TW002")
    assert again.first_seen_at == first and again.last_seen_at >= first


def test_a_fixed_violation_disappears(demo, polled):
    demo.delete("argoproj.io", "applications", "argocd", "sandbox-experiments")
    poll_cluster(polled)
    assert not Violation.objects.filter(code="TW006").exists()


def test_overview_rows_carry_owner_and_violation_codes(polled):
    rows = {r.namespace: r for r in NamespaceRollup.objects.all()}
    assert rows["gitlab"].declared_owner == "flux"
    assert rows["portfolio"].declared_owner == "argocd"
    assert rows["sandbox"].declared_owner == "" and rows["sandbox"].violation_codes == ["TW006"]
    assert rows["istio-system"].violation_codes == ["TW001"]
    assert "Argo CD" in rows["istio-system"].ownership


def test_scorecard_has_green_and_red_rows(polled):
    rows = {r["id"]: r for r in OwnershipReport.objects.get().scorecard["rows"]}
    assert rows["flux-controllers"]["state"] == "pass"
    assert rows["argocd-controllers"]["state"] == "pass"
    assert rows["no-conflicts"]["state"] == "fail"
    prometheus = [r for r in rows.values() if "Prometheus" in r["title"]]
    assert prometheus and prometheus[0]["state"] == "fail", "Argo CD has no monitor in the demo"


def scorecard_rows() -> dict[str, dict]:
    return {r["id"]: r for r in OwnershipReport.objects.get().scorecard["rows"]}


def test_the_scorecard_checks_every_controller_the_installs_run(polled):
    rows = scorecard_rows()
    flux, argo = rows["flux-controllers"]["evidence"], rows["argocd-controllers"]["evidence"]
    assert "image-reflector-controller" in flux and "image-automation-controller" in flux
    for name in (
        "argocd-applicationset-controller",
        "argocd-notifications-controller",
        "argocd-dex-server",
        "argocd-redis",
    ):
        assert name in argo
    assert rows["shared-resources"]["state"] == "fail"
    assert "ClusterRole data-platform-spark" in rows["shared-resources"]["evidence"]


def test_an_optional_controller_down_fails_its_row(demo, polled):
    dex = demo.get("apps", "deployments", "argocd", "argocd-dex-server")
    dex["status"]["readyReplicas"] = 0
    demo.apply(dex)
    poll_cluster(polled)
    argo = scorecard_rows()["argocd-controllers"]
    assert (argo["state"], argo["evidence"]) == (
        "fail",
        "Argo CD controllers not ready: argocd-dex-server (0/1 ready).",
    )


def test_controllers_outside_the_install_namespace_are_found_by_their_labels(demo, polled):
    """A second Argo CD Redis labelled part-of: argocd is listed and checked; an unlabelled
    Deployment in an application namespace is not even listed."""
    from clusters.demo.scenario import workload
    from clusters.models import Workload

    labels = {"app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/component": "redis"}
    created = "2026-11-01T00:00:00Z"
    demo.apply(
        workload("ai-services", "argocd-redis-ha", "redis:7", created, labels=labels, ready=0)
    )
    demo.apply(workload("ai-services", "batch-runner", "runner:1", created, ready=0))
    poll_cluster(polled)
    listed = set(Workload.objects.values_list("namespace", "name"))
    assert ("ai-services", "argocd-redis-ha") in listed
    assert ("ai-services", "batch-runner") not in listed
    argo = scorecard_rows()["argocd-controllers"]
    assert argo["state"] == "fail" and "argocd-redis-ha (0/1 ready)" in argo["evidence"]


def test_boundaries_from_a_file_referenced_in_clusters_yaml(demo_kubeconfig, tmp_path, settings):
    boundaries = tmp_path / "boundaries.yaml"
    boundaries.write_text(
        "clusterScoped: flux\n"
        "flux: {install: flux-system, namespaces: [flux-system, bigbang, istio-system, monitoring,"
        " gitlab, cert-manager, argocd]}\n"
        "argocd: {install: argocd, home: [argocd], namespaces: [portfolio, data-platform,"
        " ai-services, demo-apps, 'sand*']}\n"
    )
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "demo",
                        "kubeconfig": str(demo_kubeconfig),
                        "context": "demo",
                        "ownership": "boundaries.yaml",
                    }
                ]
            }
        )
    )
    (cluster,) = sync_clusters(str(clusters))
    assert cluster.boundaries_file == str(boundaries)

    poll_cluster(cluster)

    assert not Violation.objects.filter(code="TW006").exists(), "sandbox is declared by glob now"


@pytest.mark.parametrize(
    ("content", "message"),
    [("flux: [not, a, mapping]\n", "b.yaml"), (None, "cannot read")],
)
def test_a_broken_boundaries_file_falls_back_to_the_default_and_says_why(
    demo_kubeconfig, tmp_path, content, message
):
    if content is not None:
        (tmp_path / "b.yaml").write_text(content)
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "demo",
                        "kubeconfig": str(demo_kubeconfig),
                        "ownership": "b.yaml",
                    }
                ]
            }
        )
    )
    (cluster,) = sync_clusters(str(clusters))

    run = poll_cluster(cluster)

    assert run.ok, "a broken boundaries file does not stop polling"
    report = OwnershipReport.objects.get(cluster=cluster)
    assert message in report.boundaries_error and "ADR-003 default" in report.boundaries_error
    assert Violation.objects.filter(code="TW006").exists(), "the default boundaries applied"


def test_who_last_wrote_a_contested_object_is_read_from_the_live_object(polled, client, settings):
    from clusters.models import LastWriter

    (writer,) = LastWriter.objects.filter(cluster=polled)
    assert writer.resource == "/ConfigMap:monitoring/grafana-dashboard-portfolio"
    assert writer.tool == "argocd" and writer.manager == "argocd-controller"
    assert writer.error == "" and "Argo CD" in writer.explanation and writer.written_at

    settings.TIDEWATCH_ANONYMOUS_READ = True
    html = client.get("/ownership?code=TW002").content.decode()
    assert "Last writer:" in html and "argocd-controller" in html


def test_the_last_writer_check_is_rate_limited(polled, demo):
    from clusters.models import LastWriter

    checked = LastWriter.objects.get().checked_at
    fault = demo.set_fault("/configmaps/grafana-dashboard-portfolio", status=500)
    poll_cluster(polled)
    assert fault.hits == 0, "read again within the interval"
    assert LastWriter.objects.get().checked_at == checked


def test_a_forbidden_live_read_is_recorded_not_fatal(demo, demo_cluster):
    from clusters.models import LastWriter

    demo.set_fault("/configmaps/grafana-dashboard-portfolio", status=403)
    run = poll_cluster(demo_cluster)
    assert run.ok
    assert LastWriter.objects.get().error.startswith("Forbidden")
