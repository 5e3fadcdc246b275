"""The EKS resources as the service keeps them, and as the API shows them.

Records live in the service `State` with EKS's own member names, plus an `internal` member the
API never shows (owner account and region, the control plane's port and data dir, the webhook
secret, the creator, the update in progress):

    eks-clusters        <account>/<region>/<cluster>
    eks-nodegroups      <account>/<region>/<cluster>/<nodegroup>
    eks-updates         <account>/<region>/<cluster>/<update id>
    eks-access-entries  <account>/<region>/<cluster>/<principal ARN>
    eks-requests        <account>/<operation>/<clientRequestToken>   (idempotent replays)

Statuses (`ClusterStatus`, `NodegroupStatus`, `UpdateStatus`) are the strings EKS uses.
"""

from __future__ import annotations

from typing import Any

# Cluster statuses.
CREATING, ACTIVE, DELETING, FAILED, UPDATING, PENDING = "CREATING", "ACTIVE", "DELETING", "FAILED", "UPDATING", \
    "PENDING"
# Node-group statuses (besides CREATING, ACTIVE, UPDATING, DELETING).
CREATE_FAILED, DELETE_FAILED, DEGRADED = "CREATE_FAILED", "DELETE_FAILED", "DEGRADED"
# Update statuses.
IN_PROGRESS, SUCCESSFUL, UPDATE_FAILED, CANCELLED = "InProgress", "Successful", "Failed", "Cancelled"

AUTH_MODES = ("API", "API_AND_CONFIG_MAP", "CONFIG_MAP")
AUTH_MODE_ORDER = {"CONFIG_MAP": 0, "API_AND_CONFIG_MAP": 1, "API": 2}
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
PLATFORM_VERSION = "eks.1"

ACCESS_POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
# Access policies and the Kubernetes ClusterRole each stands for ("" = no RBAC equivalent here).
ACCESS_POLICIES: dict[str, str] = {
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSAdminViewPolicy": "view",
    "AmazonEKSAutoNodePolicy": "",
    "AmazonEKSBlockStorageClusterPolicy": "",
    "AmazonEKSBlockStoragePolicy": "",
    "AmazonEKSClusterAdminPolicy": "cluster-admin",
    "AmazonEKSComputeClusterPolicy": "",
    "AmazonEKSComputePolicy": "",
    "AmazonEKSEditPolicy": "edit",
    "AmazonEKSHybridPolicy": "",
    "AmazonEKSLoadBalancingClusterPolicy": "",
    "AmazonEKSLoadBalancingPolicy": "",
    "AmazonEKSNetworkingClusterPolicy": "",
    "AmazonEKSNetworkingPolicy": "",
    "AmazonEKSViewPolicy": "view",
    "AmazonEMRJobPolicy": "",
    "AmazonSagemakerHyperpodClusterPolicy": "",
    "AmazonSagemakerHyperpodControllerPolicy": "",
    "AmazonSagemakerHyperpodSystemNamespacePolicy": "",
}

ACCESS_ENTRY_TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX",
                      "HYPERPOD_LINUX")
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


def cluster_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def child_key(cluster: str, name: str) -> str:
    return f"{cluster}/{name}"


def view(record: dict) -> dict[str, Any]:
    """The record as the API shows it: no internal members, no empty values AWS would omit."""
    return {k: v for k, v in record.items() if k != "internal" and v is not None}


def update_view(u: dict) -> dict[str, Any]:
    return {k: u[k] for k in ("id", "status", "type", "params", "createdAt", "errors") if k in u}


def access_policy_arn(name: str) -> str:
    return ACCESS_POLICY_PREFIX + name


def access_policy_name(policy_arn: str) -> str | None:
    if not policy_arn.startswith(ACCESS_POLICY_PREFIX):
        return None
    name = policy_arn[len(ACCESS_POLICY_PREFIX):]
    return name if name in ACCESS_POLICIES else None
