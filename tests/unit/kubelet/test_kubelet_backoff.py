"""CrashLoopBackOff timing: 10 s doubling to 5 min, forgotten after 10 minutes of running."""

from kubelite.kubelet.kuberuntime.backoff import Backoff
from kubelite.kubelet.podutil import go_duration


class Now:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_crash_loop_sequence():
    now = Now()
    b = Backoff(10, 300, now)
    delays = []
    finished = now.t
    # the first restart is immediate; each later one waits twice as long, up to 5 minutes
    assert not b.in_backoff_since("k", finished)
    b.next("k", finished)
    for _ in range(8):
        now.t += 1  # the container runs for a second and fails
        finished = now.t
        assert b.in_backoff_since("k", finished)
        delays.append(b.get("k"))
        now.t += b.remaining("k", finished)
        assert not b.in_backoff_since("k", finished)
        b.next("k", finished)
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert [go_duration(d) for d in delays[:6]] == ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]


def test_reset_after_ten_minutes_of_running():
    now = Now()
    b = Backoff(10, 300, now)
    b.next("k", now.t)
    now.t += 5
    b.next("k", now.t)
    assert b.get("k") == 20
    now.t += 601  # ran for more than 2 x 5 minutes before it failed again
    assert not b.in_backoff_since("k", now.t)
    b.next("k", now.t)
    assert b.get("k") == 10


def test_gc_and_update_based_backoff():
    now = Now()
    b = Backoff(10, 300, now)
    b.next("img", now.t)
    assert b.in_backoff_since_update("img")
    now.t += 11
    assert not b.in_backoff_since_update("img")
    now.t += 601
    b.gc()
    assert len(b) == 0
