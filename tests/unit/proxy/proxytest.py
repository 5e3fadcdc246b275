"""Object builders shared by the proxy tests."""


def service(name, ip="198.18.128.20", ports=({"name": "http", "port": 80},), ns="default", stype="ClusterIP",
            status=None, rv="1", **spec):
    obj = {"metadata": {"namespace": ns, "name": name, "resourceVersion": rv},
           "spec": {"type": stype, "clusterIP": ip, "ports": [{"protocol": "TCP", **p} for p in ports], **spec}}
    if status:
        obj["status"] = status
    return obj


def endpoint_slice(svc, endpoints, ports=({"name": "http", "port": 8080},), name=None, ns="default", rv="1",
                   trigger=None):
    meta = {"namespace": ns, "name": name or f"{svc}-abcde", "resourceVersion": rv,
            "labels": {"kubernetes.io/service-name": svc}}
    if trigger:
        meta["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": trigger}
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta, "addressType": "IPv4",
            "ports": [{"protocol": "TCP", **p} for p in ports], "endpoints": endpoints}


def ep(ip, node="node-1", ready=True, serving=None, terminating=None):
    cond = {"ready": ready}
    if serving is not None:
        cond["serving"] = serving
    if terminating is not None:
        cond["terminating"] = terminating
    return {"addresses": [ip], "conditions": cond, "nodeName": node}
