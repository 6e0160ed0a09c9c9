"""An OutOfSync Application reads the same on every page: the drifted resources first, the
warning (OrphanedResourceWarning in the demo) after them, never instead of them."""

from __future__ import annotations

import html as htmllib

import pytest

pytestmark = pytest.mark.django_db

DRIFT = (
    "2 resources out of sync: ConfigMap data-platform/pipeline-config, "
    "Deployment data-platform/ingest-worker"
)
WARNING = "OrphanedResourceWarning: Application has 1 orphaned resources"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/n/demo/argocd",
        "/n/demo/data-platform",
        "/search?q=data-platform",
        "/o/demo/Application/argocd/data-platform",
    ],
)
def test_every_page_names_the_out_of_sync_resources_before_the_warning(client, polled, url):
    response = client.get(url)
    assert response.status_code == 200
    text = htmllib.unescape(response.content.decode())
    assert DRIFT in text
    # Short cells may cut the warning off; where it is shown, it comes after the cause.
    warning_at = text.find("orphaned resources")
    assert warning_at == -1 or warning_at > text.index(DRIFT)


def test_the_api_headline_is_the_same_sentence(client, polled):
    rows = client.get("/api/v1/objects?kind=Application&namespace=argocd").json()["objects"]
    app = next(row for row in rows if row["name"] == "data-platform")
    assert (app["reason"], app["message"]) == ("OutOfSync", f"{DRIFT}; {WARNING}")
