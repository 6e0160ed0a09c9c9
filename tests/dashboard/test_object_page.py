from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.django_db


def test_smoke(client, demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    for url in ["/o/demo/HelmRelease/bigbang/gitlab", "/o/demo/Application/argocd/data-platform",
                "/o/demo/Application/argocd/ai-services", "/o/demo/GitRepository/bigbang/bigbang",
                "/o/demo/ApplicationSet/argocd/demo-apps", "/o/demo/Kustomization/flux-system/flux-system",
                "/o/demo/Application/argocd/platform-apps", "/o/demo/HelmRelease/bigbang/nope"]:
        with CaptureQueriesContext(connection) as q:
            r = client.get(url)
        print(url, r.status_code, len(q.captured_queries), len(r.content))
        name = url.replace("/", "_")
        open(f"/tmp/objpage/{name}.html", "wb").write(r.content)
    r = client.get("/o/demo/HelmRelease/bigbang/gitlab", headers={"HX-Request": "true"})
    print("htmx", r.status_code, len(r.content), b"<html" in r.content)
    for s in q.captured_queries: print(s["sql"][:300])
