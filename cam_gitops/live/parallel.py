"""Work on many models at once, on a bounded set of threads, results in input order.

A run can be asked to stop (a deadline passed, or SIGINT/SIGTERM): then no new item starts,
items in flight get a short grace period to finish, and every item still without a result is
handed to the caller's fallback as not started or in flight, so nothing goes unreported.

The workers are daemon threads: an item abandoned after the grace period (a call that does not
return) never keeps the process alive once the run has reported.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ERROR = "error"  # work(item) raised
NOT_STARTED = "not-started"  # the run stopped before the item started
IN_FLIGHT = "in-flight"  # the item was still running when the grace period ended

SIGNAL_GRACE_S = 5.0  # CI runners send SIGKILL some seconds after SIGINT/SIGTERM
_POLL_S = 0.1


class Stop:
    """Whether a run must stop starting new work: its deadline passed, or it was asked to stop.

    Read from any thread; `request` is safe to call from a signal handler (it only sets fields).
    """

    def __init__(
        self,
        deadline_s: float | None = None,
        grace_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> None:
        self.deadline_s = deadline_s
        self._clock = clock
        begin = clock() if started is None else started
        self._until = None if deadline_s is None else begin + deadline_s
        self._grace_s = grace_s
        self._requested: str | None = None
        self.hurried = False

    def request(self, reason: str) -> None:
        """Stop starting new work; a second request also stops waiting for work in flight."""
        if self._requested is None:
            self._requested = reason
        else:
            self.hurried = True

    @property
    def interrupted(self) -> bool:
        """Whether the run was asked to stop (a signal), rather than reaching its deadline."""
        return self._requested is not None

    def reason(self) -> str | None:
        """Why the run is stopping, or None while it may go on."""
        if self._requested is not None:
            return self._requested
        if self._until is not None and self._clock() >= self._until:
            return f"the run's deadline of {self.deadline_s:g} s was reached"
        return None

    def grace_s(self) -> float:
        """How long to wait for work in flight once stopping: briefly after a signal; after the
        deadline, as long as one attempt of a call may take (retries are no longer started)."""
        if self.hurried:
            return 0.0
        return min(SIGNAL_GRACE_S, self._grace_s) if self.interrupted else self._grace_s


@contextlib.contextmanager
def stop_on_signals(stop: Stop) -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM stop the run: once models are being applied, no new update starts and
    the run reports what it knows (a second signal stops waiting for calls in flight); before
    that, nothing has been sent and the first one interrupts at once (KeyboardInterrupt).
    Later signals never interrupt the code that writes the report."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    applying = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.request(f"interrupted by {signal.Signals(signum).name}")
        if not applying.is_set():
            applying.set()
            raise KeyboardInterrupt

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield applying.set
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@dataclass(frozen=True)
class Unfinished:
    """Why an item has no result of its own: its work raised, it never started, or it was in flight."""

    state: str  # ERROR, NOT_STARTED or IN_FLIGHT
    reason: str
    error: BaseException | None = None


@dataclass
class _Board(Generic[R]):
    """What the workers have taken and finished; shared under a lock."""

    lock: threading.Lock
    started: set[int]
    finished: queue.SimpleQueue[tuple[int, R | Unfinished]]


def run_parallel(
    items: Sequence[T],
    work: Callable[[T], R],
    concurrency: int,
    on_done: Callable[[R], None] | None = None,
    *,
    fallback: Callable[[T, Unfinished], R] | None = None,
    stop: Stop | None = None,
    on_stopping: Callable[[str], None] | None = None,
) -> list[R]:
    """work(item) for each item on at most `concurrency` threads; results in input order.

    With `fallback`, an exception in work(item), and every item a stopping run leaves without a
    result, becomes fallback(item, Unfinished(...)); without it, the first exception is raised
    once the other items are done. `on_done` sees each result a worker produced (in the calling
    thread, as they come); `on_stopping` is told once when the run starts stopping.
    """
    if stop is not None and fallback is None:
        raise ValueError("a run that can stop needs a fallback for the items it leaves")
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    board: _Board[R] = _Board(threading.Lock(), set(), queue.SimpleQueue())

    def worker() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            reason = stop.reason() if stop is not None else None
            if reason is not None:
                board.finished.put((index, Unfinished(NOT_STARTED, reason)))
                continue
            with board.lock:
                board.started.add(index)
            outcome: R | Unfinished
            try:
                outcome = work(items[index])
            except BaseException as exc:  # one item's bug must not silently end its worker
                outcome = Unfinished(ERROR, f"{type(exc).__name__}: {exc}", exc)
            board.finished.put((index, outcome))

    for number in range(min(max(1, concurrency), len(items))):
        threading.Thread(target=worker, name=f"cam-gitops-{number}", daemon=True).start()
    settled = _collect(items, board, on_done, fallback, stop, on_stopping)
    return [settled[index] for index in range(len(items)) if index in settled]


def _collect(
    items: Sequence[T],
    board: _Board[R],
    on_done: Callable[[R], None] | None,
    fallback: Callable[[T, Unfinished], R] | None,
    stop: Stop | None,
    on_stopping: Callable[[str], None] | None,
) -> dict[int, R]:
    """Gather results until every item has one, or the run stopped and its grace period ended."""
    settled: dict[int, R] = {}
    errors: list[BaseException] = []
    remaining = len(items)
    stopping_since: float | None = None
    while remaining:
        got = _next(board.finished, _POLL_S if stop is not None else None)
        if got is not None:
            remaining -= 1
            index, outcome = got
            if not isinstance(outcome, Unfinished):
                settled[index] = outcome
            elif fallback is None:
                errors.append(outcome.error or RuntimeError(outcome.reason))
                continue
            else:
                settled[index] = fallback(items[index], outcome)
                if outcome.state == NOT_STARTED:
                    continue
            if on_done is not None:
                on_done(settled[index])
        reason = stop.reason() if stop is not None else None
        if stop is None or reason is None:
            continue
        if stopping_since is None:
            stopping_since = time.monotonic()
            if on_stopping is not None:
                on_stopping(reason)
        if time.monotonic() - stopping_since >= stop.grace_s():
            break
    if errors:
        raise errors[0]
    if fallback is not None and stop is not None and remaining:
        reason = stop.reason() or "the run stopped"
        with board.lock:
            started = set(board.started)
        for index in range(len(items)):
            if index not in settled:
                state = IN_FLIGHT if index in started else NOT_STARTED
                settled[index] = fallback(items[index], Unfinished(state, reason))
    return settled


def _next(
    finished: queue.SimpleQueue[tuple[int, R | Unfinished]], timeout: float | None
) -> tuple[int, R | Unfinished] | None:
    try:
        return finished.get(timeout=timeout)
    except queue.Empty:
        return None
