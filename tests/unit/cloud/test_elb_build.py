"""Services and Ingresses → load balancers (pure): which objects, scheme and target type from
the LBC's annotations, targets from EndpointSlices or nodes, Ingress routing as ALB rules,
listen-ports / ssl-redirect / certificates, names and the ELBv2 view."""

import pytest

from kubelite.cloud.elb import alb, names, nlb
from kubelite.controllers.ingress.translate import ClusterView
from kubelite.lb import Certificate, FixedResponse, Forward, ListenerProtocol, Redirect, Target, self_signed

CERT, KEY = self_signed("shop.example.com", hosts=("shop.example.com",))
ACM_ARN = "arn:aws:acm:us-east-1:000000000000:certificate/abc"


def svc(name="web", ann=None, ports=None, cls=None, type_="LoadBalancer"):
    spec = {"type": type_, "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP",
                                               "nodePort": 31080}]}
    if cls:
        spec["loadBalancerClass"] = cls
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": ann or {}},
            "spec": spec}


def slice_(svc_name, ips, port=8080, port_name="http", ready=True):
    return {"metadata": {"name": f"{svc_name}-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc_name}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip in ips]}


def node(name, ip, ready=True, fargate=False):
    labels = {"eks.amazonaws.com/compute-type": "fargate"} if fargate else {}
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"providerID": f"aws:///us-east-1a/i-{name}"},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "addresses": [{"type": "InternalIP", "address": ip}]}}


def no_cert(arn):
    return None


@pytest.mark.parametrize("ann, cls, scheme, target", [
    ({}, None, "internet-facing", "instance"),                                              # in-tree default
    ({nlb.INTERNAL: "true"}, None, "internal", "instance"),
    ({nlb.LB_TYPE: "nlb-ip"}, None, "internet-facing", "ip"),
    ({nlb.LB_TYPE: "external"}, None, "internal", "instance"),                              # LBC defaults
    ({nlb.LB_TYPE: "external", nlb.TARGET_TYPE: "ip", nlb.SCHEME: "internet-facing"}, None, "internet-facing", "ip"),
    ({}, nlb.LBC_CLASS, "internal", "instance"),
], ids=["in-tree", "in-tree-internal", "nlb-ip", "lbc", "lbc-ip-public", "lbc-class"])
def test_nlb_scheme_and_target_type(ann, cls, scheme, target):
    s = svc(ann=ann, cls=cls)
    d = nlb.build(s, [slice_("web", ["198.18.66.5", "198.18.66.6"])],
                  [node("a", "198.18.66.4"), node("b", "198.18.68.5"), node("f", "198.18.68.9", fargate=True)],
                  cluster="demo", certificate=no_cert)
    assert d.kind == names.NETWORK and d.scheme == scheme
    (tg,) = d.target_groups
    assert tg.target_type == target
    (lbtg,) = d.config.target_groups
    if target == "ip":
        assert lbtg.targets == (Target("198.18.66.5", 8080), Target("198.18.66.6", 8080))
        assert tg.target_ids[Target("198.18.66.5", 8080)] == ("198.18.66.5", 8080)
    else:  # every EC2 node at the node port, never a Fargate one
        assert lbtg.targets == (Target("198.18.66.4", 31080), Target("198.18.68.5", 31080))
        assert tg.target_ids[Target("198.18.66.4", 31080)] == ("i-a", 31080)
    (lst,) = d.config.listeners
    assert lst.protocol is ListenerProtocol.TCP and lst.port == 80 and lst.default_action == Forward.to(lbtg.name)


def test_which_services_the_controller_takes():
    assert nlb.handles(svc()) and nlb.handles(svc(cls=nlb.LBC_CLASS))
    assert not nlb.handles(svc(cls="example.com/other")) and not nlb.handles(svc(type_="ClusterIP"))


def test_not_ready_endpoints_leave_the_target_group():
    d = nlb.build(svc(ann={nlb.TARGET_TYPE: "ip"}), [slice_("web", ["198.18.66.5"]),
                                                     slice_("web", ["198.18.66.6"], ready=False)], [],
                  cluster="demo", certificate=no_cert)
    assert d.config.target_groups[0].targets == (Target("198.18.66.5", 8080),)


@pytest.mark.parametrize("ann, problem", [
    ({nlb.TARGET_TYPE: "pods"}, "invalid target type"),
    ({nlb.SCHEME: "public"}, "invalid load balancer scheme"),
    ({"service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "1"}, "between 5 and 300"),
    ({nlb.SSL_CERT: ACM_ARN}, "not found"),
])
def test_nlb_bad_annotations(ann, problem):
    with pytest.raises(nlb.BuildError, match=problem):
        nlb.build(svc(ann=ann), [], [], cluster="demo", certificate=no_cert)


def test_nlb_tls_listener_and_names_and_records():
    cert = Certificate(ACM_ARN, CERT, KEY)
    d = nlb.build(svc(ann={nlb.SSL_CERT: ACM_ARN, nlb.TARGET_TYPE: "ip"}), [slice_("web", ["198.18.66.5"])], [],
                  cluster="demo", certificate=lambda a: cert if a == ACM_ARN else None)
    assert d.config.listeners[0].protocol is ListenerProtocol.TLS
    assert d.name.startswith("k8s-default-web-") and len(d.name) <= 32
    rec = d.records(account="000000000000", region="us-east-1", vpc_id="vpc-1", zones=[("us-east-1a", "subnet-1")],
                    address="198.18.200.2", created="2026-01-01T00:00:00.000Z")
    lb = rec["loadBalancer"]
    assert lb["DNSName"].startswith(d.name + "-") and lb["DNSName"].endswith(".elb.us-east-1.amazonaws.com")
    assert lb["LoadBalancerArn"].startswith("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/")
    assert rec["listeners"][0]["Protocol"] == "TLS" and rec["listeners"][0]["Certificates"][0]["CertificateArn"] == \
        ACM_ARN
    assert rec["targetGroups"][0]["TargetType"] == "ip" and rec["targetGroups"][0]["HealthCheckProtocol"] == "TCP"
    # The same Service always gets the same names (restarts, other processes).
    again = nlb.build(svc(ann={nlb.SSL_CERT: ACM_ARN, nlb.TARGET_TYPE: "ip"}), [], [], cluster="demo",
                      certificate=lambda a: cert)
    assert again.name == d.name


# -- ALB ------------------------------------------------------------------------------------------

def ingress(name="shop", ann=None, rules=None, tls=None, cls="alb", created="2026-01-01T00:00:00Z"):
    spec = {"ingressClassName": cls, "rules": rules if rules is not None else [{"host": "shop.example.com", "http": {"paths": [
        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80}}}},
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    if tls is not None:
        spec["tls"] = tls
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": created,
                         "annotations": {alb.P + "target-type": "ip", **(ann or {})}}, "spec": spec}


def view(secrets=None, missing=()):
    services = {n: svc(n, type_="ClusterIP") for n in ("api", "web") if n not in missing}
    slices = {"api": [slice_("api", ["198.18.66.10"])], "web": [slice_("web", ["198.18.66.11"])]}
    return ClusterView(lambda ns, n: services.get(n), lambda ns, n: slices.get(n, []),
                       lambda ns, n: (secrets or {}).get(n))


def secret(cert=CERT, key=KEY):
    import base64
    return {"data": {"tls.crt": base64.b64encode(cert.encode()).decode(),
                     "tls.key": base64.b64encode(key.encode()).decode()}}


def test_alb_class_and_groups():
    classes = {"alb": {"metadata": {"name": "alb"}, "spec": {"controller": alb.CONTROLLER}}}
    assert alb.is_alb(ingress(), classes) and not alb.is_alb(ingress(cls="kubelite"), classes)
    legacy = ingress(cls=None)
    del legacy["spec"]["ingressClassName"]
    legacy["metadata"]["annotations"]["kubernetes.io/ingress.class"] = "alb"
    assert alb.is_alb(legacy, {})
    assert alb.group_key(ingress()) == "ingress/default/shop"
    assert alb.group_key(ingress(ann={alb.GROUP: "team"})) == "group/team"


def test_alb_https_with_secret_and_ssl_redirect():
    ing = ingress(ann={alb.P + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]', alb.P + "ssl-redirect": "443",
                       alb.P + "scheme": "internet-facing"},
                  tls=[{"hosts": ["shop.example.com"], "secretName": "shop-tls"}])
    d = alb.build(alb.Group("ingress/default/shop", [ing]), view({"shop-tls": secret()}), [], cluster="demo",
                  certificate=no_cert)
    assert d.kind == names.APPLICATION and d.scheme == "internet-facing" and not d.problems
    http, https = sorted(d.config.listeners, key=lambda x: x.port)
    assert http.default_action == Redirect(protocol="HTTPS", port="443", status=301) and not http.rules
    assert https.protocol is ListenerProtocol.HTTPS and https.certificates[0].cert_pem == CERT
    first, second = https.rules
    assert first.hosts == ("shop.example.com",) and first.paths[0].value == "/api"
    assert first.action == Forward.to("default/api:80") and second.action == Forward.to("default/web:80")
    rec = d.records(account="000000000000", region="us-east-1", vpc_id="vpc-1", zones=[], address="198.18.200.3",
                    created="x")
    assert rec["loadBalancer"]["DNSName"].endswith(".us-east-1.elb.amazonaws.com")
    r443 = [r for r in rec["rules"] if r["ListenerArn"] == rec["listeners"][1]["ListenerArn"]]
    assert r443[0]["Conditions"][1]["Values"] == ["/api", "/api/*"] and r443[-1]["IsDefault"]
    assert {t["TargetType"] for t in rec["targetGroups"]} == {"ip"}
    assert rec["targetGroups"][0]["HealthCheckPath"] == "/"


def test_alb_certificate_arn_default_listener_and_missing_service():
    cert = Certificate(ACM_ARN, CERT, KEY)
    ing = ingress(ann={alb.P + "certificate-arn": ACM_ARN})
    d = alb.build(alb.Group("ingress/default/shop", [ing]), view(missing=("api",)), [], cluster="demo",
                  certificate=lambda a: cert)
    (https,) = d.config.listeners           # a certificate and no listen-ports: HTTPS 443 only
    assert https.protocol is ListenerProtocol.HTTPS and https.port == 443
    assert https.rules[0].action == FixedResponse(503, "503 Service Unavailable\n")
    assert [p.reason for p in d.problems] == ["ServiceNotFound"]
    assert d.scheme == "internal"           # the LBC's default


def test_alb_invalid_secret_and_https_without_certificate_are_reported():
    ing = ingress(ann={alb.P + "listen-ports": '[{"HTTPS": 443}]'},
                  tls=[{"hosts": ["shop.example.com"], "secretName": "bad"}])
    d = alb.build(alb.Group("ingress/default/shop", [ing]), view({"bad": secret(cert="garbage")}), [],
                  cluster="demo", certificate=no_cert)
    reasons = sorted(p.reason for p in d.problems)
    assert reasons == ["FailedBuildModel", "InvalidCertificate"] and d.config.listeners == ()


def test_alb_group_shares_one_load_balancer_and_listen_ports_must_parse():
    a = ingress("a", ann={alb.GROUP: "team"}, created="2026-01-01T00:00:00Z",
                rules=[{"http": {"paths": [{"path": "/a", "pathType": "Exact", "backend": {
                    "service": {"name": "api", "port": {"number": 80}}}}]}}])
    b = ingress("b", ann={alb.GROUP: "team"}, created="2026-01-02T00:00:00Z",
                rules=[{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": "web", "port": {"number": 80}}}}]}}])
    d = alb.build(alb.Group("group/team", [b, a]), view(), [], cluster="demo", certificate=no_cert)
    assert d.name.startswith("k8s-team-") and d.objects == ["default/a", "default/b"]
    (http,) = d.config.listeners
    assert [r.paths[0].value for r in http.rules] == ["/a", "/"]
    with pytest.raises(nlb.BuildError, match="listen-ports"):
        alb.listen_ports('[{"FTP": 21}]')
