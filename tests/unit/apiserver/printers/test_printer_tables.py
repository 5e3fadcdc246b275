"""Every resource kubelite serves: exact column sets, and one cell per column for any object."""

from __future__ import annotations

from datetime import datetime

import pytest
from printer_fixtures import NOW, metadata

from kubelite.api.resources import SCHEME
from kubelite.apiserver import printers
from kubelite.apiserver.printers import column_definitions, has_printer, row_cells, row_conditions

# (group, kind): column names; a trailing "*" marks priority 1.
COLUMNS = {
    ("", "Pod"): "Name Ready Status Restarts Age IP* Node* Nominated_Node* Readiness_Gates*",
    ("", "Service"): "Name Type Cluster-IP External-IP Port(s) Age Selector*",
    ("", "Node"): "Name Status Roles Age Version Internal-IP* External-IP* OS-Image* Kernel-Version* "
                  "Container-Runtime*",
    ("", "Namespace"): "Name Status Age",
    ("", "ConfigMap"): "Name Data Age",
    ("", "Secret"): "Name Type Data Age",
    ("", "ServiceAccount"): "Name Secrets Age",
    ("", "Endpoints"): "Name Endpoints Age",
    ("", "PodTemplate"): "Name Containers Images Pod_Labels",
    ("", "ResourceQuota"): "Name Request Limit Age",
    ("", "Event"): "Last_Seen Type Reason Object Subobject* Source* Message First_Seen* Count* Name*",
    ("events.k8s.io", "Event"): "Last_Seen Type Reason Object Subobject* Source* Message First_Seen* Count* Name*",
    ("apps", "Deployment"): "Name Ready Up-to-date Available Age Containers* Images* Selector*",
    ("apps", "ReplicaSet"): "Name Desired Current Ready Age Containers* Images* Selector*",
    ("apps", "StatefulSet"): "Name Ready Age Containers* Images*",
    ("apps", "DaemonSet"): "Name Desired Current Ready Up-to-date Available Node_Selector Age Containers* Images* "
                           "Selector*",
    ("apps", "ControllerRevision"): "Name Controller Revision Age",
    ("batch", "Job"): "Name Status Completions Duration Age Containers* Images* Selector*",
    ("batch", "CronJob"): "Name Schedule Timezone Suspend Active Last_Schedule Age Containers* Images* Selector*",
    ("autoscaling", "HorizontalPodAutoscaler"): "Name Reference Targets MinPods MaxPods Replicas Age",
    ("autoscaling", "Scale"): "Name Desired Available Age",
    ("networking.k8s.io", "Ingress"): "Name Class Hosts Address Ports Age",
    ("networking.k8s.io", "IngressClass"): "Name Controller Parameters Age",
    ("networking.k8s.io", "NetworkPolicy"): "Name Pod-Selector Age",
    ("discovery.k8s.io", "EndpointSlice"): "Name AddressType Ports Endpoints Age",
    ("policy", "PodDisruptionBudget"): "Name Min_Available Max_Unavailable Allowed_Disruptions Age",
    ("rbac.authorization.k8s.io", "RoleBinding"): "Name Role Age Users* Groups* ServiceAccounts*",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "Name Role Age Users* Groups* ServiceAccounts*",
    ("scheduling.k8s.io", "PriorityClass"): "Name Value Global-Default Age PreemptionPolicy",
    ("coordination.k8s.io", "Lease"): "Name Holder Age",
    ("certificates.k8s.io", "CertificateSigningRequest"): "Name Age SignerName Requestor RequestedDuration Condition",
    ("", "Status"): "Status Reason Message",
}

TYPES = {
    ("", "Pod"): "string",
    ("apps", "ReplicaSet"): "string integer integer integer string string string string",
    ("apps", "DaemonSet"): "string integer integer integer integer integer string string string string string",
    ("batch", "CronJob"): "string string string boolean integer string string string string string",
    ("policy", "PodDisruptionBudget"): "string string string integer string",
    ("scheduling.k8s.io", "PriorityClass"): "string integer boolean string string",
}


@pytest.mark.parametrize("key", sorted(COLUMNS), ids=lambda k: f"{k[0] or 'core'}/{k[1]}")
def test_column_names_and_priorities(key):
    cols = column_definitions(*key)
    got = " ".join(c["name"].replace(" ", "_") + ("*" if c["priority"] else "") for c in cols)
    assert got == COLUMNS[key]
    assert has_printer(*key)


@pytest.mark.parametrize("key", sorted(TYPES), ids=lambda k: f"{k[0] or 'core'}/{k[1]}")
def test_column_types(key):
    types = [c["type"] for c in column_definitions(*key)]
    want = TYPES[key].split()
    assert types == (want * len(types) if len(want) == 1 else want)


def _kinds():
    keys = {(r.group, r.kind) for r in SCHEME.resources} | set(COLUMNS)
    return sorted(keys)


@pytest.mark.parametrize("key", _kinds(), ids=lambda k: f"{k[0] or 'core'}/{k[1]}")
def test_every_kind_has_well_formed_columns(key):
    cols = column_definitions(*key)
    assert cols
    for c in cols:
        assert set(c) == {"name", "type", "format", "description", "priority"}
        assert c["type"] in ("string", "integer", "boolean", "date", "number")
        assert c["priority"] in (0, 1)
        assert c["description"]
    names = [c["name"] for c in cols]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("obj", [{}, {"metadata": metadata("m")}, {"metadata": metadata("m"), "spec": {},
                                                                   "status": {}}],
                         ids=["empty", "metadata-only", "empty-spec-status"])
@pytest.mark.parametrize("key", _kinds(), ids=lambda k: f"{k[0] or 'core'}/{k[1]}")
def test_one_cell_per_column_for_sparse_objects(key, obj):
    cells = row_cells(*key, obj, NOW)
    assert len(cells) == len(column_definitions(*key))
    for cell in cells:
        assert isinstance(cell, (str, int, bool))
    assert row_conditions(*key, obj) is None


def test_naive_now_is_utc():
    obj = {"metadata": metadata("n", 90)}
    assert row_cells("", "Namespace", obj, datetime(2025, 6, 1, 12, 0, 0)) == ["n", "", "90s"]


def test_public_interface():
    assert set(printers.__all__) == {"column_definitions", "has_printer", "row_cells", "row_conditions"}
