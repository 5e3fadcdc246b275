"""Objects every cluster starts with: the system namespaces, the `kubernetes` Service and its
endpoints, and the RBAC objects that give `system:masters` its power. Created (or repaired) at
every start through the stores, as Kubernetes' bootstrap controllers do.
"""

from __future__ import annotations

import logging

from kubelite.apiserver import bootstrappolicy
from kubelite.apiserver.server import APIServer
from kubelite.machinery import errors
from kubelite.registry.generic.store import WriteOptions

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def _ensure(server: APIServer, plural: str, group: str, namespace: str, obj: dict) -> None:
    store = server.store(plural, group)
    if await store.get_or_none(namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        await store.create(namespace, obj, WriteOptions(field_manager="kubelite-bootstrap"))
    except errors.StatusError as e:
        if not errors.is_already_exists(e):
            raise


async def ensure(server: APIServer, *, advertise_address: str, port: int, dns_address: str = "") -> None:
    for ns in SYSTEM_NAMESPACES:
        await _ensure(server, "namespaces", "", "", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": ns, "labels": {
                                                         "kubernetes.io/metadata.name": ns}}})
    plan = server.options.plan
    await _ensure(server, "services", "", "default", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": plan.kubernetes_service_ip, "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]}})
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "kubernetes", "namespace": "default",
                              "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": advertise_address}],
                              "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
    await _ensure(server, "endpoints", "", "default", endpoints)
    await _ensure(server, "endpointslices", "discovery.k8s.io", "default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes",
                                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [advertise_address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
    # Cluster DNS: the `kube-dns` Service at the plan's DNS address, served by kubelite's DNS server
    # on the host's node-network address (no selector: its endpoints are maintained here).
    await _ensure(server, "services", "", "kube-system", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "KubeDNS"}},
        "spec": {"type": "ClusterIP", "clusterIP": plan.dns_service_ip,
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}})
    await _ensure(server, "endpointslices", "discovery.k8s.io", "kube-system", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kube-dns-kubelite", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "kube-dns",
                                "endpointslice.kubernetes.io/managed-by": "kubelite-server"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [dns_address or plan.host_address], "conditions": {"ready": True}}],
        "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]})
    for role in bootstrappolicy.cluster_roles():
        await _ensure(server, "clusterroles", bootstrappolicy.RBAC, "", role)
    for binding in bootstrappolicy.cluster_role_bindings():
        await _ensure(server, "clusterrolebindings", bootstrappolicy.RBAC, "", binding)
