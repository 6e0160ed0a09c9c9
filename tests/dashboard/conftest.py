from __future__ import annotations

import pytest

from clusters.poll import poll_cluster


@pytest.fixture
def polled(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster
