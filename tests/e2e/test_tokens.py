"""Service account tokens: `kubectl create token`, use by the Python client, revocation."""

import json

from kubernetes import client, config


def test_create_token_and_use_it(server, kubectl, ns):
    kubectl("create", "serviceaccount", "robot", "-n", ns)
    token = kubectl("create", "token", "robot", "-n", ns).stdout.strip()
    assert token.count(".") == 2
    status, _, body = server.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                     token=token)
    assert status == 201, body
    info = json.loads(body)["status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{ns}:robot"
    assert f"system:serviceaccounts:{ns}" in info["groups"]
    # No RBAC grants yet: authenticated but forbidden.
    status, _, body = server.request("GET", f"/api/v1/namespaces/{ns}/pods", token=token)
    assert status == 403 and json.loads(body)["reason"] == "Forbidden"
    assert f'User \\"system:serviceaccount:{ns}:robot\\" cannot list resource \\"pods\\"' in body.decode()
    kubectl("delete", "serviceaccount", "robot", "-n", ns)
    status, _, _ = server.request("GET", f"/api/v1/namespaces/{ns}/pods", token=token)
    assert status == 401


def test_tampered_and_unsigned_tokens_are_rejected(server, kubectl, ns):
    import base64

    kubectl("create", "serviceaccount", "robot2", "-n", ns)
    token = kubectl("create", "token", "robot2", "-n", ns).stdout.strip()
    h, p, s = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["sub"] = "system:serviceaccount:kube-system:admin"
    forged_p = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    none_h = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    for bad in (f"{h}.{forged_p}.{s}", f"{none_h}.{p}.", "garbage.token.here"):
        status, _, body = server.request("GET", f"/api/v1/namespaces/{ns}/pods", token=bad)
        assert status == 401, bad
