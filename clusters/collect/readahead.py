"""Read one page ahead: fetch list page k+1 while the caller normalises and stores page k.

A list is a chain of requests (each continue token comes with the page before), so the only
overlap there is between our CPU on one page and the API server's time on the next. One page
ahead is all it takes to hide the server's time (a page takes it tens of milliseconds, storing
it takes us hundreds) and bounds what is held to two pages.

The pages are fetched in a daemon thread that only does network I/O and JSON decoding (no
database: Django connections are per thread). An exception the fetch raises (KubeError ...) is
raised to the caller where the page it failed on would have been, so a consumer sees exactly
what it saw without read-ahead: the pages before, then the error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

# How long the fetching thread waits for the consumer before it looks whether it was abandoned.
_POLL_SECONDS = 0.5


class _Done:
    """The end of the pages: raised ``error`` or a clean end."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(pages: Iterator[T], *, name: str = "read-ahead") -> Iterator[T]:
    """``pages`` as they are, with the next one fetched while the caller handles this one.

    Nothing is fetched before the first ``next()``; at most one page waits beyond the one the
    caller holds. Closing the returned iterator (or dropping it) stops the fetching thread
    before its next request."""
    slot: list[T | _Done] = []  # the page fetched ahead (at most one)
    ready = threading.Condition()
    wanted = threading.Semaphore(0)  # one release per page the consumer lets it fetch
    closed = threading.Event()

    def fetch() -> None:
        while True:
            while not wanted.acquire(timeout=_POLL_SECONDS):
                if closed.is_set():
                    return
            if closed.is_set():
                return
            try:
                item: T | _Done = next(pages)
            except StopIteration:
                item = _Done()
            except BaseException as exc:  # handed to the consumer, raised there
                item = _Done(exc)
            with ready:
                slot.append(item)
                ready.notify()
            if isinstance(item, _Done):
                return

    def consume() -> Iterator[T]:
        thread = threading.Thread(target=fetch, name=name, daemon=True)
        wanted.release()  # the first page
        thread.start()
        try:
            while True:
                with ready:
                    while not slot:
                        ready.wait()
                    item = slot.pop()
                if isinstance(item, _Done):
                    if item.error is not None:
                        raise item.error
                    return
                wanted.release()  # the next page, while the caller handles this one
                yield item
        finally:
            closed.set()
            wanted.release()  # wake it if it waits: it sees ``closed`` and ends

    return consume()
