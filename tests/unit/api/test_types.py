"""The type definitions: complete, self-consistent, and matching Kubernetes' wire facts."""

from __future__ import annotations

import re

import pytest

import kubelite.api.types  # noqa: F401  (registers every message)
from kubelite.api.resources import SCHEME
from kubelite.api.schema import (
    BOOL, BYTES, DOUBLE, FIELDS_V1, INT32, INT64, INT_OR_STRING, JSON_ANY, MESSAGES, MICRO_TIME, QUANTITY,
    RAW, SCALARS, STRING, TIME, field_at, message,
)
from kubelite.api.types import EMBEDDED

models = pytest.importorskip("kubernetes.client.models")

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
APPS = "io.k8s.api.apps.v1."

# Fields the installed client (generated from a newer Kubernetes) has and v1.32 does not serve;
# kubelite defines v1.32's fields only, so strict field validation rejects these as 1.32 would.
NEWER_THAN_1_32 = {
    "V1ClusterTrustBundleProjection": {"user"},
    "V1ConfigMapVolumeSource": {"defaultUser"},
    "V1Container": {"restartPolicyRules"},
    "V1ContainerStatus": {"stopSignal"},
    "V1DeploymentStatus": {"terminatingReplicas"},
    "V1DownwardAPIVolumeFile": {"user"},
    "V1DownwardAPIVolumeSource": {"defaultUser"},
    "V1EmptyDirVolumeSource": {"mode"},
    "V1EndpointHints": {"forNodes"},
    "V1EnvVarSource": {"fileKeyRef"},
    "V1EphemeralContainer": {"restartPolicyRules"},
    "V1GRPCAction": {"mode"},
    "V1HTTPGetAction": {"protocol"},
    "V1JobSpec": {"scheduling"},
    "V1KeyToPath": {"user"},
    "V1Lifecycle": {"stopSignal"},
    "V1ListMeta": {"shardInfo"},
    "V1NodeSpec": {"podPreemptionPolicy"},
    "V1NodeStatus": {"declaredFeatures"},
    "V1NodeSystemInfo": {"runningInUserNamespace", "swap"},
    "V1PersistentVolumeClaimStatus": {"healthStatus"},
    "V1PodCondition": {"observedGeneration"},
    "V1PodSpec": {"evictionResponders", "hostnameOverride", "schedulingGroup"},
    "V1PodStatus": {"allocatedResources", "extendedResourceClaimStatus", "nodeAllocatableResourceClaimStatuses",
                    "observedGeneration", "resources", "volumeHealth"},
    "V1ProjectedVolumeSource": {"defaultUser"},
    "V1ReplicaSetStatus": {"terminatingReplicas"},
    "V1ResourceHealth": {"message"},
    "V1SecretVolumeSource": {"defaultUser"},
    "V1ServiceAccountTokenProjection": {"user"},
    "V1TokenRequestSpec": {"attestations"},
    "V1VolumeMount": {"bindMountOptions"},
    "V1VolumeMountStatus": {"volumeStatus"},
    "V1VolumeProjection": {"podCertificate"},
    "V2HPAScalingRules": {"tolerance"},
    "V2HorizontalPodAutoscalerCondition": {"observedGeneration"},
}


def group_message_name(group: str, version: str, kind: str) -> str:
    """The definition name of a kind, by the same rule `kubelite.api.resources` uses."""
    if not group:
        pkg = "core"
    elif group == "rbac.authorization.k8s.io":
        pkg = "rbac"
    elif group.endswith(".k8s.io"):
        pkg = group[: -len(".k8s.io")].replace(".", "")
    else:
        pkg = group
    return f"io.k8s.api.{pkg}.{version}.{kind}"


# --- completeness -------------------------------------------------------------------------------

def test_every_resource_message_exists():
    missing = [r.message for r in SCHEME.resources if r.message not in MESSAGES]
    assert missing == []


def test_every_stored_resource_has_its_list_message():
    missing = []
    for r in SCHEME.resources:
        if r.stored or r.group == "metrics.k8s.io":
            list_name = r.message.rsplit(".", 1)[0] + "." + r.list_kind
            if list_name not in MESSAGES:
                missing.append(list_name)
    assert missing == []


def test_every_subresource_body_exists():
    missing = []
    for r in SCHEME.resources:
        for s in r.subresources:
            # An empty group on a subresource means the parent's group (as in discovery).
            name = group_message_name(s.group or r.group, s.version, s.kind)
            if name not in MESSAGES:
                missing.append((r.plural, s.name, name))
    assert missing == []


@pytest.mark.parametrize("name", [
    META + n for n in ("ObjectMeta", "ListMeta", "Status", "StatusDetails", "StatusCause", "DeleteOptions",
                       "Preconditions", "Condition", "LabelSelector", "LabelSelectorRequirement",
                       "OwnerReference", "ManagedFieldsEntry", "WatchEvent")
] + [
    "io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.autoscaling.v1.ScaleSpec",
    "io.k8s.api.autoscaling.v1.ScaleStatus",
    "io.k8s.api.policy.v1.Eviction", CORE + "Binding", CORE + "PodLogOptions",
    "io.k8s.api.authentication.v1.TokenRequest", "io.k8s.api.authentication.v1.BoundObjectReference",
    "io.k8s.api.authentication.v1.TokenReview", "io.k8s.api.authentication.v1.SelfSubjectReview",
    "io.k8s.api.authentication.v1.UserInfo",
    "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
    "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
    "io.k8s.api.authorization.v1.SubjectAccessReview", "io.k8s.api.authorization.v1.LocalSubjectAccessReview",
])
def test_named_message_exists(name):
    assert name in MESSAGES


def test_every_referenced_message_exists():
    dangling = [(m.name, f.name, f.type) for m in MESSAGES.values() for f in m.fields
                if f.type not in SCALARS and f.type not in MESSAGES]
    assert dangling == []


def test_top_level_kinds_carry_type_meta_off_the_protobuf_wire():
    for r in SCHEME.resources:
        m = message(r.message)
        assert m.by_name["apiVersion"].number == 0, r.message
        assert m.by_name["kind"].number == 0, r.message


# --- self-consistency ---------------------------------------------------------------------------

def test_field_numbers_and_names_are_unique_per_message():
    for m in MESSAGES.values():
        numbers = [f.number for f in m.fields if f.number]
        names = [f.name for f in m.fields]
        assert len(numbers) == len(set(numbers)), m.name
        assert len(names) == len(set(names)), m.name


def test_list_map_keys_and_merge_keys_name_fields_of_the_items():
    bad = []
    for m in MESSAGES.values():
        for f in m.fields:
            keys = set(f.list_map_keys) | ({f.merge_key} if f.merge_key else set())
            if not keys:
                continue
            item = MESSAGES.get(f.type)
            if not f.repeated or item is None or not keys <= set(item.by_name):
                bad.append((m.name, f.name))
            if f.list_map_keys and f.list_type != "map":
                bad.append((m.name, f.name, "list_map_keys without list_type=map"))
    assert bad == []


def test_embedded_messages_are_inlined_into_their_parents():
    for parent, embeds in EMBEDDED.items():
        p = message(parent)
        for number, child in embeds:
            assert number not in p.by_number, (parent, number)
            for f in message(child).fields:
                assert p.by_name[f.name].number == 0, (parent, f.name)
                assert p.by_name[f.name].type == f.type, (parent, f.name)


def test_unwired_fields_are_only_type_meta_and_embedded_ones():
    embedded_names = {parent: {f.name for _, c in embeds for f in message(c).fields}
                      for parent, embeds in EMBEDDED.items()}
    stray = [(m.name, f.name) for m in MESSAGES.values() for f in m.fields
             if f.number == 0 and f.name not in ("apiVersion", "kind")
             and f.name not in embedded_names.get(m.name, ())]
    assert stray == []


# --- agreement with the Kubernetes Python client ------------------------------------------------

CLIENT_CLASSES = set(models.__all__)  # the client imports its model modules lazily


def client_class_name(message_name: str) -> str | None:
    """The client's model class for a definition: `CoreV1EndpointPort` when the kind is ambiguous
    across groups, else `V1EndpointPort`; meta/v1 kinds are plain `V1...`."""
    if message_name.startswith(META):
        name = "V1" + message_name[len(META):]
        return name if name in CLIENT_CLASSES else None
    m = re.fullmatch(r"io\.k8s\.api\.(\w+)\.(v\w+)\.(\w+)", message_name)
    if not m:
        return None
    group, version, kind = m.groups()
    version = version[0].upper() + version[1:]
    for name in (group.capitalize() + version + kind, version + kind):
        if name in CLIENT_CLASSES:
            return name
    return None


SCALAR_CLIENT_TYPES = {
    STRING: {"str"}, QUANTITY: {"str"}, BYTES: {"bytes", "str"}, INT32: {"int"}, INT64: {"int"},
    BOOL: {"bool"}, DOUBLE: {"float"}, TIME: {"datetime"}, MICRO_TIME: {"datetime"},
    INT_OR_STRING: {"object", "str"}, RAW: {"object"}, FIELDS_V1: {"object"}, JSON_ANY: {"object"},
}


def expected_client_type(f) -> set[str]:
    inner = SCALAR_CLIENT_TYPES.get(f.type) or {client_class_name(f.type)}
    if f.map and f.repeated:
        return {f"Dict[str, List[{t}]]" for t in inner}
    if f.map:
        return {f"Dict[str, {t}]" for t in inner}
    if f.repeated:
        return {f"List[{t}]" for t in inner}
    return inner


COUNTERPARTS = sorted((name, client_class_name(name)) for name in MESSAGES if client_class_name(name))


def test_most_messages_have_a_client_counterpart():
    assert len(COUNTERPARTS) > 300


@pytest.mark.parametrize("name,cls_name", COUNTERPARTS, ids=[c for _, c in COUNTERPARTS])
def test_client_fields_exist_with_the_same_shape(name, cls_name):
    cls = getattr(models, cls_name)
    m = message(name)
    problems = []
    for attr, json_name in cls.attribute_map.items():
        if json_name in NEWER_THAN_1_32.get(cls_name, ()):
            continue
        f = m.by_name.get(json_name)
        if f is None:
            problems.append(f"missing {json_name}")
            continue
        if cls.openapi_types[attr] not in expected_client_type(f):
            ours = sorted(expected_client_type(f))
            problems.append(f"{json_name}: client {cls.openapi_types[attr]}, ours {ours}")
    assert problems == []


# --- spot checks of wire facts ------------------------------------------------------------------

@pytest.mark.parametrize("name,field,number", [
    (META + "ObjectMeta", "name", 1),
    (META + "ObjectMeta", "namespace", 3),
    (META + "ObjectMeta", "labels", 11),
    (META + "ObjectMeta", "annotations", 12),
    (META + "ObjectMeta", "finalizers", 14),
    (META + "ObjectMeta", "managedFields", 17),
    (CORE + "Container", "name", 1),
    (CORE + "Container", "image", 2),
    (CORE + "Container", "ports", 6),
    (CORE + "Container", "env", 7),
    (CORE + "Container", "resources", 8),
    (APPS + "Deployment", "metadata", 1),
    (APPS + "Deployment", "spec", 2),
    (APPS + "Deployment", "status", 3),
    (APPS + "DeploymentSpec", "replicas", 1),
    (APPS + "DeploymentSpec", "selector", 2),
    (APPS + "DeploymentSpec", "template", 3),
    (APPS + "DeploymentSpec", "strategy", 4),
    (CORE + "PodSpec", "containers", 2),
    (CORE + "PodSpec", "initContainers", 20),
    (CORE + "PodSpec", "ephemeralContainers", 34),
    (CORE + "ServiceSpec", "clusterIPs", 18),
    (CORE + "ServiceSpec", "ipFamilyPolicy", 17),
    ("io.k8s.api.discovery.v1.EndpointSlice", "addressType", 4),
])
def test_protobuf_field_numbers(name, field, number):
    assert message(name).by_name[field].number == number


@pytest.mark.parametrize("path,merge_key,strategy", [
    ([CORE + "PodSpec", "containers"], "name", "merge"),
    ([CORE + "PodSpec", "volumes"], "name", "merge,retainKeys"),
    ([CORE + "Container", "ports"], "containerPort", "merge"),
    ([CORE + "Container", "env"], "name", "merge"),
    ([CORE + "Container", "volumeMounts"], "mountPath", "merge"),
    ([CORE + "ServiceSpec", "ports"], "port", "merge"),
    ([META + "ObjectMeta", "ownerReferences"], "uid", "merge"),
    ([META + "ObjectMeta", "finalizers"], "", "merge"),
    ([APPS + "DeploymentStatus", "conditions"], "type", "merge"),
    ([APPS + "DeploymentSpec", "strategy"], "", "retainKeys"),
])
def test_strategic_merge_markers(path, merge_key, strategy):
    f = field_at(path[0], path[1:])
    assert (f.merge_key, f.patch_strategy) == (merge_key, strategy)


@pytest.mark.parametrize("path,list_type,keys", [
    ([CORE + "ServiceSpec", "ports"], "map", ("port", "protocol")),
    ([CORE + "Container", "ports"], "map", ("containerPort", "protocol")),
    ([CORE + "PodSpec", "tolerations"], "atomic", ()),
    ([META + "LabelSelector", "matchExpressions"], "atomic", ()),
])
def test_list_types(path, list_type, keys):
    f = field_at(path[0], path[1:])
    assert (f.list_type, f.list_map_keys) == (list_type, keys)


def test_well_known_scalars_and_bytes():
    assert field_at(CORE + "Secret", ["data"]).type == BYTES and field_at(CORE + "Secret", ["data"]).map
    assert field_at(CORE + "ConfigMap", ["binaryData"]).type == BYTES
    assert field_at(APPS + "ControllerRevision", ["data"]).type == RAW
    assert field_at(CORE + "ResourceRequirements", ["limits"]).type == QUANTITY
    assert field_at(CORE + "ServicePort", ["targetPort"]).type == INT_OR_STRING
    assert field_at(META + "ObjectMeta", ["creationTimestamp"]).type == TIME
    assert field_at(META + "ManagedFieldsEntry", ["fieldsV1"]).type == FIELDS_V1
    assert field_at("io.k8s.api.events.v1.Event", ["eventTime"]).type == MICRO_TIME
    assert field_at(CORE + "Container", ["name"]).required
    assert field_at(CORE + "ContainerPort", ["protocol"]).enum == ("SCTP", "TCP", "UDP")


@pytest.mark.parametrize("name", [CORE + "ObjectReference", CORE + "ConfigMapKeySelector",
                                  CORE + "NodeSelector", META + "LabelSelector", "io.k8s.api.rbac.v1.RoleRef"])
def test_atomic_structs(name):
    assert message(name).map_type == "atomic"
