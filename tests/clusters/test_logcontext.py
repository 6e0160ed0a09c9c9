"""Structured logs: JSON lines (TIDEWATCH_LOG_FORMAT=json) carrying the cluster and poll id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from clusters import logcontext
from clusters.logcontext import LogContextFilter, bind_poll, log_context, poll_logging
from clusters.models import PollRun
from clusters.poll import poll_cluster
from dashboard.celery import app as celery_app
from dashboard.logformat import JsonFormatter
from tests.services import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


class Capture(logging.Handler):
    """A handler as settings.LOGGING builds it: the context filter, then the JSON formatter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(LogContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured():
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def test_a_json_line_has_time_level_logger_message_and_extras(captured):
    logging.getLogger("clusters.test").warning("listed %d objects", 3, extra={"kind": "Bucket"})
    (line,) = captured
    assert line["level"] == "WARNING" and line["logger"] == "clusters.test"
    assert line["message"] == "listed 3 objects" and line["kind"] == "Bucket"
    assert line["time"].endswith("+00:00")
    assert "cluster" not in line and "poll_id" not in line, "outside a poll: left out"


def test_exceptions_are_one_field_of_the_same_line(captured):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("clusters.test").exception("poll failed")
    (line,) = captured
    assert line["message"] == "poll failed"
    assert "ValueError: boom" in line["exception"]


def test_records_inside_a_poll_carry_cluster_and_poll_id_and_extra_wins(captured):
    log = logging.getLogger("clusters.test")

    @poll_logging
    def fake_poll(cluster):
        bind_poll(4711)
        log.info("inside")
        log.info("explicit", extra={"cluster": "other"})
        return "done"

    class FakeCluster:
        name = "prod-eks"

    assert fake_poll(FakeCluster()) == "done"
    log.info("after")
    inside, explicit, after = captured
    assert (inside["cluster"], inside["poll_id"]) == ("prod-eks", 4711)
    assert explicit["cluster"] == "other" and explicit["poll_id"] == 4711
    assert "cluster" not in after and "poll_id" not in after, "nothing leaks out of the poll"


def test_each_thread_sees_only_its_own_poll(captured):
    log = logging.getLogger("clusters.test")
    barrier = threading.Barrier(2)

    def poll(name, poll_id):
        with log_context(name, poll_id):
            barrier.wait()
            log.info("polling")

    threads = [threading.Thread(target=poll, args=(f"c{i}", i)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((line["cluster"], line["poll_id"]) for line in captured) == [
        ("c1", 1),
        ("c2", 2),
    ]
    assert logcontext.current() == {}


@pytest.mark.django_db
def test_the_real_poll_logs_with_its_cluster(captured, demo_cluster):
    """poll_cluster's own records name the cluster (and, once poll_cluster binds it, the run)."""
    decorated = hasattr(poll_cluster, "__wrapped__")
    run = (poll_cluster if decorated else poll_logging(poll_cluster))(demo_cluster)
    polled = [line for line in captured if line["logger"] == "clusters.poll"]
    assert polled and all(line["cluster"] == "demo" for line in polled)
    if decorated:
        assert all(line["poll_id"] == run.pk for line in polled)
    assert PollRun.objects.filter(pk=run.pk, ok=True).exists()


def test_celery_logs_through_the_same_configuration():
    assert celery_app.conf.worker_hijack_root_logger is False


@pytest.mark.django_db(transaction=True)
def test_manage_py_logs_json_lines_when_asked(clusters_file, demo_cluster):
    env = subprocess_env(
        TIDEWATCH_LOG_FORMAT="json",
        TIDEWATCH_CLUSTERS=str(clusters_file),
        ALLOWED_HOSTS="localhost",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "poll"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines, "the poll logs something"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    polled = [line for line in lines if line["logger"] == "clusters.poll"]
    assert any("polled in" in line["message"] for line in polled)
    if hasattr(poll_cluster, "__wrapped__"):
        assert all(line.get("cluster") == "demo" and line.get("poll_id") for line in polled)
