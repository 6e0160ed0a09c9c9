"""Poll bounds (issue 10): a poll ends, and stays small, whatever the server does.

Over real HTTP against demo clusters that misbehave on purpose (clusters/demo/server.py faults).
Each test uses small limits so it is quick; none asserts how long anything took, only that the
poll ended, why (the stable reason shown on the page), and that nothing stored was lost. The
fault matrix (test_fault_matrix.py) has the one-kind rows: endless continue token, slow drip,
gzip body, response too large, exec plugin that never exits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.server import DemoCluster
from clusters.models import Event, GitOpsObject, KindState, PollRun
from clusters.poll import poll_cluster
from clusters.poller import run_poller
from clusters.registry import sync_clusters
from tests.conftest import TOKEN
from tests.reliability.exec_plugin import hanging_plugin, running, write_exec_kubeconfig
from tests.reliability.test_fault_matrix import api_cluster, api_kind, card
from tests.reliability.world import (
    APPLICATION,
    FAULTY,
    HEALTHY,
    KUSTOMIZATION,
    World,
    inventory,
    last_transition_id,
    make_world,
    rows,
    status_change,
    transitions_since,
)

pytestmark = pytest.mark.django_db

# Listed after the Argo CD Applications, in collect_cluster's order: a poll out of time at the
# Applications cannot have read any of them.
AFTER_APPLICATIONS = {"ApplicationSet", "AppProject", "Namespace", "Deployment", "StatefulSet"}


@pytest.fixture
def world(tmp_path: Path, settings) -> Iterator[World]:
    settings.TIDEWATCH_ANONYMOUS_READ = True
    made = make_world(tmp_path, settings)
    yield made
    made.stop()


def failing(cluster: str) -> dict[str, tuple[str, str]]:
    return {
        s.kind: (s.reason, s.error)
        for s in KindState.objects.filter(cluster__name=cluster, state=KindState.ERROR)
    }


def test_an_endless_event_list_is_capped_and_everything_else_is_stored(world, settings, client):
    """A server that answers every page of Events with new Events and a continue token: the
    poll stops at TIDEWATCH_MAX_EVENTS (memory stays bounded), keeps the Events it had, and
    stores every other kind."""
    assert world.poll()[FAULTY].ok
    events = Event.objects.filter(cluster__name=FAULTY).count()
    assert events > 0
    settings.TIDEWATCH_MAX_EVENTS = 50
    settings.TIDEWATCH_LIST_PAGE_SIZE = 10
    world.faulty.set_fault("/api/v1/events", endless_list=True)
    KUSTOMIZATION.flip(world.faulty)
    mark = last_transition_id()

    runs = world.poll()

    run = runs[FAULTY]
    assert run.finished_at is not None and not run.ok
    assert set(run.errors) == {"core/Event"}, run.errors
    assert run.errors["core/Event"]["reason"] == "TooManyObjects"
    assert "TIDEWATCH_MAX_EVENTS=50" in run.errors["core/Event"]["message"]
    assert transitions_since(mark, FAULTY) == {status_change(KUSTOMIZATION)}
    assert Event.objects.filter(cluster__name=FAULTY).count() == events
    assert failing(FAULTY).keys() == {"Event"}
    assert api_kind(api_cluster(client, FAULTY), "Event")["reason"] == "TooManyObjects"
    assert "TooManyObjects" in card(client, FAULTY)
    assert runs[HEALTHY].ok

    world.faulty.clear_faults()
    assert world.poll()[FAULTY].ok
    assert failing(FAULTY) == {}
    assert Event.objects.filter(cluster__name=FAULTY).count() == events


def test_the_poll_deadline_ends_a_poll_and_leaves_what_it_did_not_read_stale(world, settings):
    """Applications dripped a byte at a time: within the request deadline (60 s) but past the
    poll's (2 s). The poll ends, the run is closed, the kinds it could not read are stale with
    reason Deadline, and their stored objects are kept."""
    assert world.poll()[FAULTY].ok
    stored = inventory(FAULTY)
    applications = rows(FAULTY, "Application")
    settings.TIDEWATCH_POLL_DEADLINE = 2
    world.faulty.set_fault("/applications?", drip=0.5)
    APPLICATION.flip(world.faulty)

    run = poll_cluster(world.cluster(FAULTY))

    assert run.finished_at is not None and not run.ok
    assert PollRun.objects.get(pk=run.pk).finished_at is not None
    stale = failing(FAULTY)
    for kind in {"Application", *AFTER_APPLICATIONS}:
        reason, message = stale[kind]
        assert reason == "Deadline" and "TIDEWATCH_POLL_DEADLINE" in message, (kind, message)
    assert inventory(FAULTY) == stored
    assert rows(FAULTY, "Application") == applications

    world.faulty.clear_faults()
    settings.TIDEWATCH_POLL_DEADLINE = 180
    mark = last_transition_id()
    assert poll_cluster(world.cluster(FAULTY)).ok
    assert failing(FAULTY) == {}
    assert transitions_since(mark, FAULTY) == {status_change(APPLICATION)}


def test_a_server_dripping_its_headers_is_cut_at_the_request_deadline(world, settings):
    """The status line and headers a byte at a time (the fault matrix drips the body)."""
    assert world.poll()[FAULTY].ok
    applications = rows(FAULTY, "Application")
    settings.TIDEWATCH_REQUEST_DEADLINE = 2
    world.faulty.set_fault("/applications?", drip=0.5, drip_headers=True)

    run = poll_cluster(world.cluster(FAULTY))

    assert run.finished_at is not None
    assert set(run.errors) == {"argoproj.io/Application"}, run.errors
    error = run.errors["argoproj.io/Application"]
    assert error["reason"] == "Deadline" and "TIDEWATCH_REQUEST_DEADLINE" in error["message"]
    assert rows(FAULTY, "Application") == applications


def write_clusters(path: Path, entries: dict[str, Path]) -> Path:
    clusters = [{"name": name, "kubeconfig": str(config)} for name, config in entries.items()]
    path.write_text(yaml.safe_dump({"clusters": clusters}))
    return path


@pytest.fixture
def hung_and_good(demo, demo_kubeconfig, tmp_path, settings) -> Callable[[], tuple[Path, Path]]:
    """clusters.yaml with "a-hung" (an exec plugin that never exits; polled first: names
    sort first) and "demo"; returns the files holding the plugin's pids."""
    command, args, leader, child = hanging_plugin(tmp_path)
    hung = write_exec_kubeconfig(tmp_path / "hung.yaml", demo.url, command, args)
    settings.TIDEWATCH_CLUSTERS = str(
        write_clusters(tmp_path / "clusters.yaml", {"a-hung": hung, "demo": demo_kubeconfig})
    )
    settings.TIDEWATCH_EXEC_TIMEOUT = 3
    return lambda: (leader, child)


def assert_plugin_gone(leader: Path, child: Path) -> None:
    assert leader.exists(), "the plugin never started"
    pids = [int(f.read_text()) for f in (leader, child) if f.exists()]
    assert [pid for pid in pids if running(pid)] == [], "the exec plugin outlived the poll"


def test_an_exec_plugin_that_never_exits_is_killed_with_its_children(hung_and_good):
    hung = next(c for c in sync_clusters() if c.name == "a-hung")

    run = poll_cluster(hung)

    assert run.finished_at is not None and not run.ok
    assert run.error.startswith("ExecTimeout: ") and "killed" in run.error, run.error
    assert_plugin_gone(*hung_and_good())


def test_manage_poll_goes_on_to_the_next_cluster_when_one_hits_a_limit(hung_and_good):
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="could not be polled"):
        call_command("poll", stdout=out, stderr=err)

    assert "a-hung: FAILED ExecTimeout: exec plugin sh did not finish" in err.getvalue()
    assert "demo:" in out.getvalue() and "objects listed" in out.getvalue()
    assert GitOpsObject.objects.filter(cluster__name="demo").count() > 30
    assert_plugin_gone(*hung_and_good())


def test_manage_poll_goes_on_after_a_kind_hits_a_cap(demo, demo_kubeconfig, tmp_path, settings):
    """A kind-level limit is reported on its line; the cluster and the next one are stored."""
    other = DemoCluster(token=TOKEN)
    other.start(port=0)
    try:
        other_config = write_kubeconfig(tmp_path / "other.yaml", other.url, TOKEN)
        settings.TIDEWATCH_CLUSTERS = str(
            write_clusters(
                tmp_path / "clusters.yaml", {"a-endless": demo_kubeconfig, "b-next": other_config}
            )
        )
        settings.TIDEWATCH_MAX_LIST_PAGES = 3
        demo.set_fault("/helmreleases?", endless_continue=True)
        out, err = StringIO(), StringIO()

        call_command("poll", stdout=out, stderr=err)

        assert "helm.toolkit.fluxcd.io/HelmRelease: TooManyPages: " in err.getvalue()
        assert "a-endless:" in out.getvalue() and "b-next:" in out.getvalue()
        assert GitOpsObject.objects.filter(cluster__name="b-next", kind="HelmRelease").exists()
    finally:
        other.stop()


@pytest.mark.django_db(transaction=True)
def test_the_in_process_poller_goes_on_to_the_next_cluster(hung_and_good, settings):
    stop = threading.Event()
    poller = threading.Thread(
        target=run_poller, args=(stop,), kwargs={"tick": 0.2, "clusters_file": None}
    )
    poller.start()
    try:
        # Waits for an outcome, not for time to pass: the limit is only a guard against a hang.
        give_up = time.monotonic() + 120
        while not PollRun.objects.filter(
            cluster__name="demo", finished_at__isnull=False, ok=True
        ).exists():
            assert time.monotonic() < give_up, "the poller never reached the second cluster"
            assert poller.is_alive(), "the poller died"
            time.sleep(0.1)
    finally:
        stop.set()
        poller.join(timeout=60)
    hung = PollRun.objects.filter(cluster__name="a-hung").first()
    assert hung is not None and hung.error.startswith("ExecTimeout: ")
    assert not poller.is_alive()
    assert_plugin_gone(*hung_and_good())
