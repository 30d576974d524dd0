"""The process-wide two-thread pool of the engines (segengine.concurrency.map_two_threads)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from segengine.concurrency import map_two_threads


def test_results_in_item_order_and_on_two_threads():
    names = set()

    def slow_square(x):
        names.add(threading.current_thread().name)
        time.sleep(0.01 * (5 - x))  # the first items end last
        return x * x

    assert map_two_threads(slow_square, range(5)) == [0, 1, 4, 9, 16]
    if (os.cpu_count() or 1) > 1:  # the caller and the helper thread both took items
        assert names == {threading.current_thread().name} | {n for n in names if n.startswith("segengine-kernels")}
        assert len(names) == 2


def test_a_caller_never_waits_for_another_callers_items():
    # Two reports side by side: while the helper thread works on the first's long items, the
    # second does its own quick items alone instead of queueing behind them.
    started = threading.Event()

    def slow(x):
        started.set()
        time.sleep(0.6)
        return x

    first = threading.Thread(target=lambda: map_two_threads(slow, range(4)))
    first.start()
    started.wait(5)
    time.sleep(0.05)
    t = time.perf_counter()
    assert map_two_threads(lambda x: x + 1, range(6)) == [1, 2, 3, 4, 5, 6]
    assert time.perf_counter() - t < 0.4
    first.join()


def test_a_task_that_fans_out_again_runs_inline_instead_of_waiting_for_itself():
    def outer(x):
        return sum(map_two_threads(lambda y: x * y, range(4)))

    done = []
    t = threading.Thread(target=lambda: done.append(map_two_threads(outer, range(3))), daemon=True)
    t.start()
    t.join(timeout=20)
    assert done == [[0, 6, 12]]


def test_every_call_finishes_before_the_first_error_is_raised():
    finished = []

    def work(x):
        if x == 0:
            raise ValueError("first")
        time.sleep(0.05)
        finished.append(x)
        return x

    with pytest.raises(ValueError, match="first"):
        map_two_threads(work, [0, 1, 2])
    assert sorted(finished) == [1, 2]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_threads_of_its_own():
    map_two_threads(abs, [-1, -2])  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: the inherited pool has no threads; a new one must answer
        try:
            ok = map_two_threads(abs, [-3, -4]) == [3, 4]
        finally:
            os._exit(0 if ok else 1)
    deadline = time.time() + 20
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the forked child hung on the parent's pool")


def test_a_thread_that_limited_numba_to_one_thread_runs_inline():
    import numba

    names = []

    def run():
        numba.set_num_threads(1)
        map_two_threads(lambda x: names.append(threading.current_thread().name), range(4))

    t = threading.Thread(target=run, name="one-core-request")
    t.start()
    t.join()
    assert names == ["one-core-request"] * 4
