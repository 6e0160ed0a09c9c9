from __future__ import annotations

import pytest

from clusters.poll import poll_cluster
from dashboard.object_ownership import ownership_sentence

OWNERS = {"gitlab": "flux", "bigbang": "flux", "portfolio": "argocd", "istio-system": "flux"}


@pytest.mark.parametrize(
    ("tool", "home", "targets", "expected"),
    [
        (
            "flux",
            "bigbang",
            ["gitlab"],
            "Flux deploys this into gitlab (declared for Flux)"
            " — as the ownership boundaries expect.",
        ),
        (
            "argocd",
            "argocd",
            ["portfolio", "istio-system"],
            "Argo CD deploys this into portfolio (declared for Argo CD) and istio-system "
            "(declared for Flux: crosses the boundary).",
        ),
        ("argocd", "argocd", ["sandbox"], "Argo CD deploys this into sandbox (no declared owner)."),
        (
            "flux",
            "bigbang",
            [],
            "A Flux object that deploys nothing itself; it lives in bigbang (declared for Flux).",
        ),
    ],
)
def test_ownership_sentence(tool, home, targets, expected):
    assert ownership_sentence(tool, home, targets, OWNERS) == expected


@pytest.mark.django_db
def test_object_page_says_who_owns_it_and_links_its_violations(client, demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)

    html = client.get("/o/demo/Application/argocd/portfolio").content.decode()
    line = html[html.index("data-ownership") :]
    line = line[: line.index("</p>")]
    assert "istio-system (declared for Flux: crosses the boundary)" in line
    assert ">TW001<" in line and ">TW002<" in line

    gitlab = client.get("/o/demo/HelmRelease/bigbang/gitlab").content.decode()
    assert "as the ownership boundaries expect" in gitlab
