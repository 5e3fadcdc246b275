"""networking.k8s.io/v1: Ingress, IngressClass and NetworkPolicy.
"""

from __future__ import annotations

from kubelite.api.schema import F, INT32, INT_OR_STRING, STRING, define, type_meta_fields

from .common import CORE, META, NETWORKING, PROTOCOLS, define_embedding


define(NETWORKING + "IngressRuleValue", [
    F(1, "http", NETWORKING + "HTTPIngressRuleValue"),
])

define(NETWORKING + "HTTPIngressPath", [
    F(1, "path", STRING),
    F(2, "backend", NETWORKING + "IngressBackend", required=True),
    F(3, "pathType", STRING, required=True, enum=("Exact", "ImplementationSpecific", "Prefix")),
])

define(NETWORKING + "HTTPIngressRuleValue", [
    F(1, "paths", NETWORKING + "HTTPIngressPath", repeated=True, required=True, list_type="atomic"),
])

define(NETWORKING + "IPBlock", [
    F(1, "cidr", STRING, required=True),
    F(2, "except", STRING, repeated=True, list_type="atomic"),
])

define(NETWORKING + "Ingress", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", NETWORKING + "IngressSpec"),
    F(3, "status", NETWORKING + "IngressStatus"),
])

define(NETWORKING + "IngressBackend", [
    F(3, "resource", CORE + "TypedLocalObjectReference"),
    F(4, "service", NETWORKING + "IngressServiceBackend"),
])

define(NETWORKING + "IngressClass", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", NETWORKING + "IngressClassSpec"),
])

define(NETWORKING + "IngressClassList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", NETWORKING + "IngressClass", repeated=True, required=True),
])

define(NETWORKING + "IngressClassParametersReference", [
    F(1, "apiGroup", STRING),
    F(2, "kind", STRING, required=True),
    F(3, "name", STRING, required=True),
    F(4, "scope", STRING),
    F(5, "namespace", STRING),
])

define(NETWORKING + "IngressClassSpec", [
    F(1, "controller", STRING),
    F(2, "parameters", NETWORKING + "IngressClassParametersReference"),
])

define(NETWORKING + "IngressList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", NETWORKING + "Ingress", repeated=True, required=True),
])

define(NETWORKING + "IngressLoadBalancerIngress", [
    F(1, "ip", STRING),
    F(2, "hostname", STRING),
    F(4, "ports", NETWORKING + "IngressPortStatus", repeated=True, list_type="atomic"),
])

define(NETWORKING + "IngressLoadBalancerStatus", [
    F(1, "ingress", NETWORKING + "IngressLoadBalancerIngress", repeated=True, list_type="atomic"),
])

define(NETWORKING + "IngressPortStatus", [
    F(1, "port", INT32, required=True),
    F(2, "protocol", STRING, required=True),
    F(3, "error", STRING),
])

define_embedding(NETWORKING + "IngressRule", [
    F(1, "host", STRING),
], embedded=((2, NETWORKING + "IngressRuleValue"),))

define(NETWORKING + "IngressServiceBackend", [
    F(1, "name", STRING, required=True),
    F(2, "port", NETWORKING + "ServiceBackendPort"),
])

define(NETWORKING + "IngressSpec", [
    F(1, "defaultBackend", NETWORKING + "IngressBackend"),
    F(2, "tls", NETWORKING + "IngressTLS", repeated=True, list_type="atomic"),
    F(3, "rules", NETWORKING + "IngressRule", repeated=True, list_type="atomic"),
    F(4, "ingressClassName", STRING),
])

define(NETWORKING + "IngressStatus", [
    F(1, "loadBalancer", NETWORKING + "IngressLoadBalancerStatus"),
])

define(NETWORKING + "IngressTLS", [
    F(1, "hosts", STRING, repeated=True, list_type="atomic"),
    F(2, "secretName", STRING),
])

define(NETWORKING + "NetworkPolicy", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", NETWORKING + "NetworkPolicySpec"),
])

define(NETWORKING + "NetworkPolicyEgressRule", [
    F(1, "ports", NETWORKING + "NetworkPolicyPort", repeated=True, list_type="atomic"),
    F(2, "to", NETWORKING + "NetworkPolicyPeer", repeated=True, list_type="atomic"),
])

define(NETWORKING + "NetworkPolicyIngressRule", [
    F(1, "ports", NETWORKING + "NetworkPolicyPort", repeated=True, list_type="atomic"),
    F(2, "from", NETWORKING + "NetworkPolicyPeer", repeated=True, list_type="atomic"),
])

define(NETWORKING + "NetworkPolicyList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", NETWORKING + "NetworkPolicy", repeated=True, required=True),
])

define(NETWORKING + "NetworkPolicyPeer", [
    F(1, "podSelector", META + "LabelSelector"),
    F(2, "namespaceSelector", META + "LabelSelector"),
    F(3, "ipBlock", NETWORKING + "IPBlock"),
])

define(NETWORKING + "NetworkPolicyPort", [
    F(1, "protocol", STRING, enum=PROTOCOLS),
    F(2, "port", INT_OR_STRING),
    F(3, "endPort", INT32),
])

define(NETWORKING + "NetworkPolicySpec", [
    F(1, "podSelector", META + "LabelSelector", required=True),
    F(2, "ingress", NETWORKING + "NetworkPolicyIngressRule", repeated=True, list_type="atomic"),
    F(3, "egress", NETWORKING + "NetworkPolicyEgressRule", repeated=True, list_type="atomic"),
    F(4, "policyTypes", STRING, repeated=True, list_type="atomic"),
])

define(NETWORKING + "ServiceBackendPort", [
    F(1, "name", STRING),
    F(2, "number", INT32),
], map_type="atomic")
