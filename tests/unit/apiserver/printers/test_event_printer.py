"""The Event printer for core/v1 and events.k8s.io/v1 Events."""

from __future__ import annotations

import pytest
from printer_fixtures import NOW, ago, metadata

from kubelite.apiserver.printers import column_definitions, row_cells

CORE_EVENT = {
    "metadata": metadata("web-1.17f3a", 600), "type": "Warning", "reason": "BackOff",
    "message": "Back-off restarting failed container web in pod web-1_default(uid)\n",
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "fieldPath": "spec.containers{web}"},
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": ago(600), "lastTimestamp": ago(20), "count": 7,
}

MICRO = (NOW.replace(microsecond=0)).strftime("%Y-%m-%dT%H:%M:%S")

CASES = [
    ("core", "", CORE_EVENT,
     ["20s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}", "kubelet, node-1",
      "Back-off restarting failed container web in pod web-1_default(uid)", "10m", 7, "web-1.17f3a"]),
    ("event-time-only", "", {
        "metadata": metadata("sched.1", 90), "type": "Normal", "reason": "Scheduled",
        "message": "Successfully assigned default/web-1 to node-1",
        "involvedObject": {"kind": "Pod", "name": "web-1"}, "eventTime": "2025-06-01T11:58:30.123456Z",
        "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-host"},
     ["89s", "Normal", "Scheduled", "pod/web-1", "", "default-scheduler, default-scheduler-host",
      "Successfully assigned default/web-1 to node-1", "89s", 1, "sched.1"]),
    ("series", "", {**CORE_EVENT, "series": {"count": 12, "lastObservedTime": "2025-06-01T11:59:55.000000Z"}},
     ["5s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}", "kubelet, node-1",
      "Back-off restarting failed container web in pod web-1_default(uid)", "10m", 12, "web-1.17f3a"]),
    ("no-name-no-host", "", {
        "metadata": metadata("n.1", 60), "type": "Normal", "reason": "RegisteredNode", "message": "m",
        "involvedObject": {"kind": "Node"}, "source": {"component": "node-controller"},
        "firstTimestamp": ago(60)},
     ["60s", "Normal", "RegisteredNode", "node", "", "node-controller", "m", "60s", 1, "n.1"]),
    ("events.k8s.io", "events.k8s.io", {
        "metadata": metadata("web.2", 300), "type": "Normal", "reason": "Pulled", "note": "  Image pulled  ",
        "regarding": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
        "reportingController": "kubelet", "reportingInstance": "node-1",
        "eventTime": "2025-06-01T11:55:00.000000Z", "deprecatedCount": 2,
        "deprecatedFirstTimestamp": ago(300), "deprecatedLastTimestamp": ago(100)},
     ["100s", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node-1", "Image pulled", "5m", 2,
      "web.2"]),
]


@pytest.mark.parametrize("group,obj,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_event_cells(group, obj, expected):
    assert row_cells(group, "Event", obj, NOW) == expected


@pytest.mark.parametrize("group", ["", "events.k8s.io"])
def test_event_columns(group):
    cols = column_definitions(group, "Event")
    assert [(c["name"], c["priority"]) for c in cols] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
        ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    assert cols[-1]["format"] == "name"
