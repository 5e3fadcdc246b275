"""The RBAC objects that joining nodes needs (Kubernetes' and kubeadm's names where they exist).

- bootstrappers (`system:bootstrappers`) may create and watch CSRs (`system:node-bootstrapper`)
  and have node client certificates approved automatically (`.../nodeclient`);
- nodes (`system:nodes`) may have their own client certificate renewed (`.../selfnodeclient`);
- the controller manager may approve and sign kubelet client certificates;
- anyone, anonymous included, may read `kube-public/cluster-info` (discovery).
"""

from __future__ import annotations

from kubelite.apiserver.bootstrappolicy import RBAC, _binding, _role, group, rule, user

from .tokens import CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE, GROUP

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
NODE_BOOTSTRAPPER = "system:node-bootstrapper"
NODE_CLIENT = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
SELF_NODE_CLIENT = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
KUBELET_CLIENT_APPROVER = "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver"
CERTIFICATE_CONTROLLER = "system:controller:certificate-controller"
CLUSTER_INFO_ROLE = "kubelite:bootstrap-signer-clusterinfo"
CSRS = "certificatesigningrequests"


def cluster_roles() -> list[dict]:
    return [
        _role(NODE_BOOTSTRAPPER, [rule(["certificates.k8s.io"], [CSRS], ["create", "get", "list", "watch"])]),
        _role(NODE_CLIENT, [rule(["certificates.k8s.io"], [f"{CSRS}/nodeclient"], ["create"])]),
        _role(SELF_NODE_CLIENT, [rule(["certificates.k8s.io"], [f"{CSRS}/selfnodeclient"], ["create"])]),
        _role(KUBELET_CLIENT_APPROVER, [rule(["certificates.k8s.io"], ["signers"], ["approve"],
                                             [KUBELET_CLIENT_SIGNER])]),
        _role(CERTIFICATE_CONTROLLER, [
            rule(["certificates.k8s.io"], [CSRS], ["delete", "get", "list", "watch"]),
            rule(["certificates.k8s.io"], [f"{CSRS}/approval", f"{CSRS}/status"], ["update"]),
            rule(["certificates.k8s.io"], ["signers"], ["approve", "sign"], [KUBELET_CLIENT_SIGNER]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
        ]),
    ]


def cluster_role_bindings() -> list[dict]:
    return [
        _binding("kubelite:kubelet-bootstrap", NODE_BOOTSTRAPPER, [group(GROUP)]),
        _binding("kubelite:node-autoapprove-bootstrap", NODE_CLIENT, [group(GROUP)]),
        _binding("kubelite:node-autoapprove-certificate-rotation", SELF_NODE_CLIENT, [group("system:nodes")]),
        _binding(CERTIFICATE_CONTROLLER, CERTIFICATE_CONTROLLER, [user("system:kube-controller-manager")]),
    ]


def roles() -> list[dict]:
    """Namespaced Roles (namespace in metadata)."""
    return [{"apiVersion": f"{RBAC}/v1", "kind": "Role",
             "metadata": {"name": CLUSTER_INFO_ROLE, "namespace": CLUSTER_INFO_NAMESPACE},
             "rules": [rule([""], ["configmaps"], ["get"], [CLUSTER_INFO_NAME])]}]


def role_bindings() -> list[dict]:
    return [{"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
             "metadata": {"name": CLUSTER_INFO_ROLE, "namespace": CLUSTER_INFO_NAMESPACE},
             "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": CLUSTER_INFO_ROLE},
             "subjects": [user("system:anonymous")]}]
