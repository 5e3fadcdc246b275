"""Target health state machine, target choice, draining and probe scheduling (pure)."""

import dataclasses

import pytest

from kubelite.lb import Algorithm, HealthCheck, ProbeResult, Target, TargetGroup, TargetHealthState
from kubelite.lb.health import observe, registered
from kubelite.lb.targets import SmoothWeighted, TargetGroupState
from kubelite.lb.model import WeightedTargetGroup

HC = HealthCheck(enabled=True, interval=10, timeout=5, healthy_threshold=3, unhealthy_threshold=2)
T1, T2, T3 = Target("198.19.0.1", 80), Target("198.19.0.2", 80), Target("198.19.0.3", 80)
OK, FAIL = ProbeResult.passed(), ProbeResult.code_mismatch(500)
S = TargetHealthState


def run(results, hc=HC, start=None):
    h = start or registered(hc)
    states = []
    for r in results:
        h = observe(h, OK if r else FAIL, hc)
        states.append(h.state)
    return h, states


@pytest.mark.parametrize("results,final", [
    ([], S.INITIAL),
    ([1, 1], S.INITIAL),
    ([1, 1, 1], S.HEALTHY),
    ([0], S.INITIAL),
    ([0, 0], S.UNHEALTHY),
    ([1, 1, 1, 0], S.HEALTHY),          # one failure is not enough
    ([1, 1, 1, 0, 0], S.UNHEALTHY),
    ([1, 1, 1, 0, 1, 0], S.HEALTHY),    # failures must be consecutive
    ([0, 0, 1, 1], S.UNHEALTHY),
    ([0, 0, 1, 1, 1], S.HEALTHY),
], ids=str)
def test_health_state_machine(results, final):
    h, _ = run(results)
    assert h.state is final


def test_health_reasons_follow_elbv2():
    assert registered(HC).reason == "Elb.RegistrationInProgress"
    h, _ = run([1])
    assert h.reason == "Elb.InitialHealthChecking"
    h, _ = run([0, 0])
    assert (h.reason, h.description) == ("Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]")
    h = observe(h, ProbeResult.timed_out(), HC)
    assert h.reason == "Target.Timeout"
    assert registered(HealthCheck()).state is S.HEALTHY  # checks disabled


def group(*targets, hc=HealthCheck(), algorithm=Algorithm.ROUND_ROBIN, delay=30.0):
    return TargetGroup("tg", targets=tuple(targets), health_check=hc, algorithm=algorithm, deregistration_delay=delay)


def test_round_robin_spreads_evenly():
    g = TargetGroupState(group(T1, T2, T3))
    picks = [g.pick().target for _ in range(9)]
    assert {t: picks.count(t) for t in (T1, T2, T3)} == {T1: 3, T2: 3, T3: 3}
    assert picks[:3] == [T1, T2, T3]


def test_least_outstanding_requests_prefers_the_idle_target():
    g = TargetGroupState(group(T1, T2, T3, algorithm=Algorithm.LEAST_OUTSTANDING_REQUESTS))
    busy = g.entries[T1]
    g.acquire(busy)
    g.acquire(busy)
    g.acquire(g.entries[T2])
    assert g.pick().target == T3
    g.acquire(g.entries[T3])
    g.acquire(g.entries[T3])
    assert g.pick().target == T2


def test_only_healthy_targets_get_requests_and_all_unhealthy_fails_open():
    g = TargetGroupState(group(T1, T2, hc=HealthCheck(enabled=True, healthy_threshold=1, unhealthy_threshold=1)))
    assert {g.pick().target for _ in range(4)} == {T1, T2}   # all initial: fail open
    g.observe(T1, OK)
    assert {g.pick().target for _ in range(4)} == {T1}
    g.observe(T1, FAIL)
    g.observe(T2, FAIL)
    assert {g.pick().target for _ in range(4)} == {T1, T2}   # all unhealthy: fail open
    assert g.pick(exclude={T1, T2}) is None


def test_deregistered_target_drains_and_leaves_when_its_requests_finish():
    g = TargetGroupState(group(T1, T2), now=0)
    e1 = g.entries[T1]
    g.acquire(e1)
    changes = g.update(group(T2), now=5)
    assert changes.draining == [T1] and changes.removed == []
    assert e1.health.state is S.DRAINING and e1.drain_deadline == 35
    assert {g.pick().target for _ in range(4)} == {T2}        # no new requests
    assert [d.state for d in g.describe()] == ["draining", "healthy"]
    assert g.release(e1) is True                              # last request done: deregistered
    assert T1 not in g.entries


def test_idle_target_is_removed_at_once_and_busy_one_cut_at_the_deadline():
    g = TargetGroupState(group(T1, T2, T3), now=0)
    g.acquire(g.entries[T2])
    changes = g.update(group(T1), now=0)
    assert changes.removed == [T3] and changes.draining == [T2]
    assert g.expire(29.9) == []
    assert g.next_deadline() == 30
    assert g.expire(30) == [T2]
    assert list(g.entries) == [T1]


def test_reregistering_a_draining_target_takes_it_back():
    g = TargetGroupState(group(T1, T2), now=0)
    g.acquire(g.entries[T1])
    g.update(group(T2), now=1)
    assert g.entries[T1].draining
    changes = g.update(group(T1, T2), now=2)
    assert changes.registered == [T1]
    assert g.entries[T1].health.state is S.HEALTHY and g.entries[T1].drain_deadline is None
    assert g.release(g.entries[T1]) is False


def test_probes_are_scheduled_per_interval_and_not_overlapping():
    g = TargetGroupState(group(T1, T2, hc=HC), now=100)
    assert {e.target for e in g.due_probes(100)} == {T1, T2}
    assert g.due_probes(105) == []
    assert g.next_deadline() is None                          # both in flight
    g.observe(T1, OK)
    assert g.next_deadline() == 110
    assert [e.target for e in g.due_probes(110)] == [T1]      # T2's probe is still running
    g.observe(T2, OK)
    assert [e.target for e in g.due_probes(110)] == [T2]


def test_disabling_health_checks_makes_targets_healthy():
    g = TargetGroupState(group(T1, hc=HC), now=0)
    assert g.entries[T1].health.state is S.INITIAL
    g.update(group(T1), now=1)
    assert g.entries[T1].health.state is S.HEALTHY


def test_smooth_weighted_round_robin():
    sw = SmoothWeighted((WeightedTargetGroup("a", 5), WeightedTargetGroup("b", 1), WeightedTargetGroup("c", 1)))
    seq = [sw.next() for _ in range(7)]
    assert sorted(seq) == ["a"] * 5 + ["b", "c"]
    assert seq[0] == "a" and seq[1] != seq[2]                  # interleaved, not 5 a's in a row
    assert "aaaaa" not in "".join(seq)
    zero = SmoothWeighted((WeightedTargetGroup("a", 0), WeightedTargetGroup("b", 3)))
    assert {zero.next() for _ in range(5)} == {"b"}


def test_describe_reports_counts():
    g = TargetGroupState(dataclasses.replace(group(T1, T2, hc=HC)), now=0)
    g.observe(T1, OK)
    assert g.counts()["initial"] == 2
    assert [d.health_check_port for d in g.describe()] == [80, 80]
