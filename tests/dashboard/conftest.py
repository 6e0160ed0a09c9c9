from __future__ import annotations

import pytest

from clusters.poll import poll_cluster


@pytest.fixture
def polled(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster


@pytest.fixture(autouse=True)
def pinned_minute(monkeypatch):
    """A live token holds the clock's minute, so a minute that ends between opening a page and
    its refresh re-renders it, rightly; pinned here so no test depends on where in a minute it
    runs. Tests of the minute itself set ``changes.clock_minute`` themselves."""
    from dashboard import changes

    monkeypatch.setattr(changes, "clock_minute", lambda: "202601010000")
