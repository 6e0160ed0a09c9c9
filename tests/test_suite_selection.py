"""The PostgreSQL pass of make test runs only the tests that can reach the database
(tests/conftest.py): a test that can must never be left out of it."""

from __future__ import annotations

import pytest

from clusters.demo.server import DemoCluster
from tests.conftest import touches_database


@pytest.fixture
def built_on_the_database(db: None) -> str:
    return "a fixture of this project that stores something"


@pytest.mark.django_db
def test_a_marked_test_is_kept(request: pytest.FixtureRequest) -> None:
    assert touches_database(request.node)


def test_a_test_through_a_fixture_built_on_db_is_kept(
    request: pytest.FixtureRequest, built_on_the_database: str
) -> None:
    assert touches_database(request.node)


def test_a_transactional_test_is_kept(
    request: pytest.FixtureRequest, transactional_db: None
) -> None:
    assert touches_database(request.node)


def test_a_test_without_the_database_is_left_to_the_sqlite_pass(
    request: pytest.FixtureRequest, tmp_path: object
) -> None:
    assert not touches_database(request.node)


def test_the_demo_cluster_alone_does_not_reach_the_database(
    request: pytest.FixtureRequest, demo: DemoCluster
) -> None:
    # The fixture most tests start from; left out so the demo server's own tests run once.
    assert demo.url and not touches_database(request.node)
