"""deploy/monitoring: the alerts and the Grafana dashboard use only metrics /metrics exposes."""

from __future__ import annotations

import json

import pytest
import yaml
from django.urls import resolve
from prometheus_client.parser import text_string_to_metric_families

from clusters.poll import poll_cluster
from tests.deploy.helpers import (
    DEPLOY,
    generated_configmaps,
    kustomize_resources,
    load_yaml_documents,
    metric_names,
)

MONITORING = DEPLOY / "monitoring"
RULES = next(
    doc for doc in load_yaml_documents(MONITORING / "prometheusrule.yaml")
    if doc["kind"] == "PrometheusRule"
)  # fmt: skip
DASHBOARD = json.loads((MONITORING / "grafana-dashboard.json").read_text())


@pytest.fixture
def exposed(client, demo_cluster, settings) -> set[str]:
    """Metric names in a real scrape of a polled demo cluster."""
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    response = client.get("/metrics")
    assert response.status_code == 200
    return {family.name for family in text_string_to_metric_families(response.content.decode())}


def alert_rules() -> dict[str, dict]:
    return {rule["alert"]: rule for group in RULES["spec"]["groups"] for rule in group["rules"]}


def dashboard_expressions() -> list[str]:
    expressions = [
        target["expr"] for panel in DASHBOARD["panels"] for target in panel.get("targets", [])
    ]
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            expressions.append(query["query"] if isinstance(query, dict) else query)
    return expressions


def test_the_promql_reader_finds_metric_names():
    assert metric_names(
        'max by (cluster) (time() - a_b{x="y"}[5m]) > 3 * on (cluster) c_d or vector(0)'
    ) == {"a_b", "c_d"}
    assert metric_names('label_replace(v_w, "dst", "$1", "src", "(.*)")') == {"v_w"}
    assert metric_names("label_values(tidewatch_cluster_enabled, cluster)") == {
        "tidewatch_cluster_enabled"
    }


@pytest.mark.django_db
def test_alert_expressions_use_only_exposed_metrics(exposed):
    for name, rule in alert_rules().items():
        used = metric_names(rule["expr"])
        assert used, name
        assert used <= exposed, f"{name}: {sorted(used - exposed)} not exposed by /metrics"


def test_the_required_alerts_exist():
    rules = alert_rules()
    stale = rules["TidewatchPollStale"]
    assert "tidewatch_last_successful_poll_timestamp_seconds" in stale["expr"]
    assert "tidewatch_poll_interval_seconds" in stale["expr"]
    assert "tidewatch_ownership_violations" in rules["TidewatchOwnershipViolations"]["expr"]
    assert "> 0" in rules["TidewatchOwnershipViolations"]["expr"]
    degraded = rules["TidewatchObjectDegraded"]
    assert 'status="Degraded"' in degraded["expr"] and degraded["for"] == "15m"
    for rule in rules.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


@pytest.mark.django_db
def test_dashboard_panels_use_only_exposed_metrics(exposed):
    expressions = dashboard_expressions()
    assert len(expressions) >= 10
    for expr in expressions:
        used = metric_names(expr)
        assert used, expr
        assert used <= exposed, f"{sorted(used - exposed)} not exposed: {expr}"


def test_the_dashboard_is_valid_grafana_json():
    assert DASHBOARD["uid"] == "tidewatch" and DASHBOARD["title"]
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for panel in DASHBOARD["panels"]:
        assert panel["type"] in ("stat", "timeseries", "table"), panel["title"]
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["datasource"]["uid"] == "${datasource}"
        assert all(target["refId"] for target in panel["targets"])
    names = [v["name"] for v in DASHBOARD["templating"]["list"]]
    assert names == ["datasource", "cluster"]
    # Shipped as a ConfigMap Grafana's sidecar picks up.
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    assert generator["options"]["labels"] == {"grafana_dashboard": "1"}
    data = generated_configmaps(MONITORING)["tidewatch-grafana-dashboard"]
    assert json.loads(data["tidewatch-dashboard.json"]) == DASHBOARD


def test_the_service_monitor_scrapes_the_web_service_with_the_metrics_token():
    (monitor,) = [o for o in kustomize_resources(MONITORING) if o["kind"] == "ServiceMonitor"]
    base = kustomize_resources(DEPLOY / "kubernetes")
    service = next(
        o for o in base if o["kind"] == "Service" and o["metadata"]["name"] == "tidewatch"
    )
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert resolve(endpoint["path"]).url_name == "metrics"
    web = next(
        o for o in base if o["kind"] == "Deployment" and o["metadata"]["name"] == "tidewatch-web"
    )
    (container,) = web["spec"]["template"]["spec"]["containers"]
    token = next(v for v in container["env"] if v["name"] == "TIDEWATCH_METRICS_TOKEN")
    assert endpoint["authorization"]["credentials"] == {
        "name": token["valueFrom"]["secretKeyRef"]["name"],
        "key": token["valueFrom"]["secretKeyRef"]["key"],
    }
