"""discovery.k8s.io/v1: EndpointSlice.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, INT32, STRING, define, type_meta_fields

from .common import CORE, DISCOVERY, META, PROTOCOLS


define(DISCOVERY + "Endpoint", [
    F(1, "addresses", STRING, repeated=True, required=True, list_type="set"),
    F(2, "conditions", DISCOVERY + "EndpointConditions"),
    F(3, "hostname", STRING),
    F(4, "targetRef", CORE + "ObjectReference"),
    F(5, "deprecatedTopology", STRING, map=True),
    F(6, "nodeName", STRING),
    F(7, "zone", STRING),
    F(8, "hints", DISCOVERY + "EndpointHints"),
])

define(DISCOVERY + "EndpointConditions", [
    F(1, "ready", BOOL),
    F(2, "serving", BOOL),
    F(3, "terminating", BOOL),
])

define(DISCOVERY + "EndpointHints", [
    F(1, "forZones", DISCOVERY + "ForZone", repeated=True, list_type="atomic"),
])

define(DISCOVERY + "EndpointPort", [
    F(1, "name", STRING),
    F(2, "protocol", STRING, enum=PROTOCOLS),
    F(3, "port", INT32),
    F(4, "appProtocol", STRING),
], map_type="atomic")

define(DISCOVERY + "EndpointSlice", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "endpoints", DISCOVERY + "Endpoint", repeated=True, required=True, list_type="atomic"),
    F(3, "ports", DISCOVERY + "EndpointPort", repeated=True, list_type="atomic"),
    F(4, "addressType", STRING, required=True, enum=("FQDN", "IPv4", "IPv6")),
])

define(DISCOVERY + "EndpointSliceList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", DISCOVERY + "EndpointSlice", repeated=True, required=True),
])

define(DISCOVERY + "ForZone", [
    F(1, "name", STRING, required=True),
])
