"""dashboard/argocd_server.py: an ArgoAppDetail row into what the page shows, whatever the row
holds (pure; no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from dashboard import argocd_server
from tests.builders import argo_node, argo_resource

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
APP = SimpleNamespace(tool="argocd", kind="Application", cluster=SimpleNamespace(argocd={}))
# A cluster whose clusters.yaml entry names an argocd-server (the parsed block, never a token).
SERVED = SimpleNamespace(
    tool="argocd",
    kind="Application",
    cluster=SimpleNamespace(argocd={"url": "https://argocd.example", "tokenFile": "/t"}),
)
DEPLOY = ("apps", "Deployment", "ns", "web")


def row(resources=(), tree=(), **fields) -> SimpleNamespace:
    values = {"resources": list(resources), "tree": list(tree), "error": "", "fetched_at": NOW}
    values |= {"attempted_at": NOW, "secrets_dropped": 0} | fields
    return SimpleNamespace(**values)


def view(resources=(), tree=(), **fields) -> argocd_server.ServerView:
    return argocd_server.server_view(APP, row(resources, tree, **fields))


def web() -> dict:
    return argo_resource(*DEPLOY, health=None)


def names(detail: argocd_server.ResourceDetail) -> list[tuple[str, int]]:
    return [(node.name, node.depth) for node in detail.tree]


@pytest.mark.parametrize(
    ("obj", "detail", "state"),
    [
        (SimpleNamespace(tool="flux", kind="HelmRelease"), None, None),
        (SimpleNamespace(tool="argocd", kind="ApplicationSet"), None, None),
        (APP, None, "not-configured"),
        (SERVED, None, "pending"),
        (APP, row(fetched_at=None), "pending"),
        (APP, row(fetched_at=None, error="401 Unauthorized"), "error"),
        (APP, row(error="503"), "error"),
        (APP, row(), "ok"),
    ],
)
def test_the_state_says_why_data_is_there_or_not(obj, detail, state):
    result = argocd_server.server_view(obj, detail)
    assert (result.state if result else None) == state
    if state in ("not-configured", "pending", "error"):
        assert result.reason


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        # Deployment -> ReplicaSet -> Pods: depth first, the unhealthy Pod first
        (
            [
                argo_node("d", *DEPLOY),
                argo_node("r", "apps", "ReplicaSet", "ns", "web-1", parents=("d",)),
                argo_node("p2", "", "Pod", "ns", "web-1-b", parents=("r",)),
                argo_node(
                    "p1", "", "Pod", "ns", "web-1-z", parents=("r",), health=("Degraded", "")
                ),
            ],
            [("web-1", 1), ("web-1-z", 2), ("web-1-b", 2)],
        ),
        # a node with two parents, and a cycle: each node once
        (
            [
                argo_node("d", *DEPLOY, parents=("p",)),
                argo_node("r", "apps", "ReplicaSet", "ns", "web-1", parents=("d",)),
                argo_node("s", "", "Service", "ns", "web", parents=("d",)),
                argo_node("p", "", "Pod", "ns", "web-1-a", parents=("r", "s")),
            ],
            [("web-1", 1), ("web-1-a", 2), ("web", 1)],
        ),
        # Argo CD's own parentRefs form (objects with a uid)
        (
            [
                argo_node("d", *DEPLOY),
                argo_node("r", "apps", "ReplicaSet", "ns", "web-1", parents=())
                | {"parents": [{"kind": "Deployment", "name": "web", "uid": "d"}]},
            ],
            [("web-1", 1)],
        ),
        # no node for the managed resource itself: nothing to hang a tree on, nothing guessed
        ([argo_node("r", "apps", "ReplicaSet", "ns", "web-1", parents=("d",))], []),
        # garbage in the row is skipped, not fatal
        (["not a node", {"uid": "x", "parents": "d"}, argo_node("d", *DEPLOY)], []),
        # a Secret below it is never shown, nor what hangs under it
        (
            [
                argo_node("d", *DEPLOY),
                argo_node("s", "", "Secret", "ns", "web-token", parents=("d",)),
                argo_node("c", "", "ConfigMap", "ns", "from-secret", parents=("s",)),
            ],
            [],
        ),
    ],
)
def test_the_live_tree_hangs_below_its_managed_resource(tree, expected):
    detail = view([web()], tree).get(*DEPLOY)
    assert names(detail) == expected


def test_a_long_chain_of_parents_is_walked_without_recursion():
    chain = [argo_node("n0", *DEPLOY)]
    chain += [
        argo_node(f"n{i}", "", "Pod", "ns", f"p{i}", parents=(f"n{i - 1}",)) for i in range(1, 5000)
    ]
    detail = view([web()], chain).get(*DEPLOY)
    assert detail.tree_total == 4999 and len(detail.tree) == 50
    assert detail.tree[-1].indent == 4  # deep nodes stay at the last indent step


def test_the_resource_takes_the_trees_health_when_its_entry_has_none():
    detail = view([web()], [argo_node("d", *DEPLOY, health=("Missing", "gone"))]).get(*DEPLOY)
    assert (detail.health.status, detail.health.message, detail.health.tone) == (
        "Missing",
        "gone",
        "bad",
    )


@pytest.mark.parametrize(
    ("resource", "shown", "dropped"),
    [
        (argo_resource("", "Secret", "ns", "db"), False, 1),
        (argo_resource("", "secret", "ns", "db"), True, 0),  # kinds are case-sensitive
        (argo_resource("example.com", "Secret", "ns", "db"), True, 0),  # a CRD named Secret
    ],
)
def test_only_core_secrets_are_dropped(resource, shown, dropped):
    result = view([resource], secrets_dropped=2)
    assert (result.get(*argocd_server.key_of(resource)) is not None) == shown
    assert result.secrets_dropped == 2 + dropped


def test_unhealthy_resources_are_listed_worst_first():
    result = view(
        [
            argo_resource("", "Service", "ns", "a", health=("Unknown", "")),
            argo_resource("", "Service", "ns", "b", health=("Degraded", "boom")),
            argo_resource("", "Service", "ns", "c", health=("Healthy", "")),
            argo_resource("", "Service", "ns", "d", health=("Missing", "")),
        ]
    )
    assert [d.key[3] for d in result.unhealthy] == ["b", "d", "a"]


def test_a_diff_keeps_path_change_and_both_values_as_text():
    entry = argo_resource(*DEPLOY, diff=[("spec.replicas", "changed", "2", "3")])
    entry["diff"].append({"path": "spec.paused", "change": "added", "live": None, "target": True})
    entry["diff"].append("not a line")
    detail = view([entry]).get(*DEPLOY)
    assert [(d.path, d.change, d.live, d.target) for d in detail.diff] == [
        ("spec.replicas", "changed", "2", "3"),
        ("spec.paused", "added", None, "True"),  # None: absent
    ]
