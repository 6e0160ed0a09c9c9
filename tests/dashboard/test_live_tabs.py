"""Many tabs of one page (dashboard/changes.py): when a change reaches 50 open tabs in the same
second, the page is rendered once and every tab gets that render, not one render per tab that
polled before the first render was cached."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from dashboard import changes

TABS = 8
WAIT_S = 30


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def poll(url: str):
    request = RequestFactory().get(url, HTTP_HX_REQUEST="true")
    request.htmx = True  # what django-htmx's middleware sets for an HTMX request
    return request


def wait_until(condition) -> None:
    """Wait on a condition with a generous deadline (no fixed sleep decides the outcome)."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.mark.parametrize(
    "url", ["/?since=7-202612020100-aaaa", "/o/demo/Application/argocd/x?since=7-1-b"]
)
def test_tabs_polling_one_page_at_once_cause_one_render(url):
    renders: list[int] = []
    first_entered, release = threading.Event(), threading.Event()

    def render() -> HttpResponse:
        renders.append(1)
        if len(renders) == 1:
            first_entered.set()
            release.wait(WAIT_S)
        return HttpResponse(b"<main>the new status</main>")

    answers: list[bytes] = []

    def tab() -> None:
        answers.append(changes.rendered(poll(url), "8-202612020101-cccc", render).content)

    first = threading.Thread(target=tab)
    first.start()
    assert first_entered.wait(WAIT_S)
    others = [threading.Thread(target=tab) for _ in range(TABS - 1)]
    for thread in others:
        thread.start()
    flights = getattr(changes, "FLIGHTS", None)
    # Every other tab either waits for the first one's render or (old code) has answered.
    try:
        wait_until(
            lambda: (
                len(answers) == TABS - 1 or (flights is not None and flights.waiting() == TABS - 1)
            )
        )
    finally:
        release.set()
    for thread in [first, *others]:
        thread.join(WAIT_S)
    assert len(renders) == 1
    assert answers == [b"<main>the new status</main>"] * TABS


def test_a_part_not_shared_is_rendered_for_each_tab():
    """An error answer is never handed to other tabs: each renders its own."""
    renders: list[int] = []

    def render() -> HttpResponse:
        renders.append(1)
        return HttpResponse(b"down", status=503)

    for _ in range(3):
        assert changes.rendered(poll("/?since=1-1-a"), "2-1-b", render).status_code == 503
    assert len(renders) == 3
