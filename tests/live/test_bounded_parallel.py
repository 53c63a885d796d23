"""run_parallel: one item's exception is that item's result; a stopping run accounts for every item."""

from __future__ import annotations

import threading

import pytest

from cam_gitops.live.parallel import ERROR, IN_FLIGHT, NOT_STARTED, Stop, Unfinished, run_parallel


def _explain(item: int, why: Unfinished) -> str:
    return f"{item}:{why.state}:{why.reason}"


def test_an_exception_in_one_item_is_its_result_and_the_others_finish() -> None:
    def work(item: int) -> str:
        if item == 3:
            raise KeyError("boom")
        return f"ok {item}"

    seen: list[str] = []
    results = run_parallel(list(range(6)), work, 3, seen.append, fallback=_explain)
    assert results == ["ok 0", "ok 1", "ok 2", "3:error:KeyError: 'boom'", "ok 4", "ok 5"]
    assert sorted(seen) == sorted(results)  # the failure is reported as it happens, like the others


def test_without_a_fallback_the_first_exception_is_raised_after_the_others_ran() -> None:
    done: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        if item == 0:
            raise ValueError("first item")
        with lock:
            done.append(item)
        return item

    with pytest.raises(ValueError, match="first item"):
        run_parallel(list(range(5)), work, 2)
    assert sorted(done) == [1, 2, 3, 4]


def test_a_stop_request_leaves_unstarted_items_not_started_and_abandons_work_in_flight() -> None:
    stop = Stop(grace_s=0.2)
    release = threading.Event()
    started = threading.Event()

    def work(item: int) -> str:
        if item == 1:
            started.set()
            release.wait(30)  # a call that does not come back
            return "late"
        if item == 2:
            assert started.wait(30)
            stop.request("interrupted by SIGTERM")
        return f"ok {item}"

    told: list[str] = []
    try:
        results = run_parallel(list(range(6)), work, 2, fallback=_explain, stop=stop, on_stopping=told.append)
    finally:
        release.set()
    assert results[0] == "ok 0"
    assert results[1] == f"1:{IN_FLIGHT}:interrupted by SIGTERM"
    assert results[2] == "ok 2"  # it finished: stopping never discards a result
    assert results[3:] == [f"{i}:{NOT_STARTED}:interrupted by SIGTERM" for i in range(3, 6)]
    assert told == ["interrupted by SIGTERM"]


def test_a_second_request_stops_waiting_for_work_in_flight() -> None:
    stop = Stop(grace_s=3600)  # without the second request, the run would wait this long
    release = threading.Event()

    def work(item: int) -> str:
        stop.request("interrupted by SIGINT")
        stop.request("interrupted by SIGTERM")
        release.wait(30)
        return "late"

    try:
        results = run_parallel([0], work, 1, fallback=_explain, stop=stop)
    finally:
        release.set()
    assert results == [f"0:{IN_FLIGHT}:interrupted by SIGINT"]


def test_the_deadline_stops_new_items_and_names_itself() -> None:
    now = [100.0]
    stop = Stop(deadline_s=30, grace_s=0, clock=lambda: now[0], started=90.0)
    assert stop.reason() is None

    def work(item: int) -> str:
        now[0] = 121.0  # the first item takes the run past its deadline (90 + 30)
        return f"ok {item}"

    results = run_parallel(list(range(3)), work, 1, fallback=_explain, stop=stop)
    reason = "the run's deadline of 30 s was reached"
    assert results == ["ok 0", f"1:{NOT_STARTED}:{reason}", f"2:{NOT_STARTED}:{reason}"]
    assert not stop.interrupted


def test_grace_is_short_after_a_signal_and_one_attempt_long_after_the_deadline() -> None:
    stop = Stop(deadline_s=1, grace_s=13)
    assert stop.grace_s() == 13
    stop.request("interrupted by SIGTERM")
    assert stop.grace_s() == 5.0
    stop.request("interrupted by SIGTERM")
    assert stop.grace_s() == 0.0


def test_results_come_in_input_order_whatever_the_finishing_order() -> None:
    gates = [threading.Event() for _ in range(4)]

    def work(item: int) -> int:
        if item < 3:
            assert gates[item + 1].wait(30)  # item 3 finishes first, then 2, 1, 0
        gates[item].set()
        return item * 10

    assert run_parallel(list(range(4)), work, 4, fallback=_explain, stop=Stop()) == [0, 10, 20, 30]


def test_a_stoppable_run_needs_a_fallback() -> None:
    with pytest.raises(ValueError, match="fallback"):
        run_parallel([1], str, 1, stop=Stop())


def test_error_state_keeps_the_exception() -> None:
    captured: list[Unfinished] = []

    def keep(item: int, why: Unfinished) -> int:
        captured.append(why)
        return -1

    def work(item: int) -> int:
        raise RuntimeError("bad value")

    assert run_parallel([7], work, 1, fallback=keep) == [-1]
    assert captured[0].state == ERROR and isinstance(captured[0].error, RuntimeError)
