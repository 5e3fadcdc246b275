"""Shared pieces of the type definitions: name prefixes, the protocol set, and Go struct embedding.

Every definition is named as Kubernetes' OpenAPI names it; the prefixes below are the
definition namespaces of the group/versions kubelite serves.

Go struct embedding (`Volume` embeds `VolumeSource`, `Probe` embeds `ProbeHandler`, the
`...KeySelector`s embed `LocalObjectReference`, ...) puts the embedded fields directly into the
JSON object but keeps them in a nested message on the protobuf wire. `define_embedding` defines
such a message: the embedded fields join the parent's fields with number 0 (not on the wire by
themselves), and `EMBEDDED[parent]` records which protobuf field number carries which embedded
message, so a protobuf decoder can unwrap it into the parent object.
"""

from __future__ import annotations

from dataclasses import replace

from kubelite.api.schema import Field, Message, define, message

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."
AUTOSCALING_V1 = "io.k8s.api.autoscaling.v1."
AUTOSCALING_V2 = "io.k8s.api.autoscaling.v2."
NETWORKING = "io.k8s.api.networking.v1."
POLICY = "io.k8s.api.policy.v1."
RBAC = "io.k8s.api.rbac.v1."
AUTHENTICATION = "io.k8s.api.authentication.v1."
AUTHORIZATION = "io.k8s.api.authorization.v1."
COORDINATION = "io.k8s.api.coordination.v1."
DISCOVERY = "io.k8s.api.discovery.v1."
EVENTS = "io.k8s.api.events.v1."
SCHEDULING = "io.k8s.api.scheduling.v1."
CERTIFICATES = "io.k8s.api.certificates.v1."
METRICS = "io.k8s.metrics.pkg.apis.metrics.v1beta1."

PROTOCOLS = ("SCTP", "TCP", "UDP")

# parent message -> ((protobuf field number, embedded message), ...)
EMBEDDED: dict[str, tuple[tuple[int, str], ...]] = {}


def define_embedding(name: str, fields: list[Field], embedded: tuple[tuple[int, str], ...],
                     map_type: str = "") -> Message:
    """Define `name` with `fields` plus the JSON-inlined fields of each embedded message.

    The embedded messages must already be defined.
    """
    inlined = [replace(f, number=0) for _, child in embedded for f in message(child).fields]
    EMBEDDED[name] = tuple(embedded)
    return define(name, [*fields, *inlined], map_type=map_type)
