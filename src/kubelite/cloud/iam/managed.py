"""AWS managed policies the service knows (`arn:aws:iam::aws:policy/<Name>`): the few that EKS
users attach. Their documents are short approximations written for this service, not copies of
AWS's (which list hundreds of actions); the intent of each is kept."""

from __future__ import annotations

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: list[str] | str, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


MANAGED_POLICIES: dict[str, dict] = {
    "AdministratorAccess": _doc(_allow("*")),
    "PowerUserAccess": _doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"],
                             "Resource": "*"},
                            _allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
                                    "iam:ListRoles", "organizations:DescribeOrganization"])),
    "ReadOnlyAccess": _doc(_allow(["*:Describe*", "*:Get*", "*:List*"])),
    "IAMFullAccess": _doc(_allow(["iam:*", "organizations:DescribeAccount", "organizations:ListAccounts"])),
    "IAMReadOnlyAccess": _doc(_allow(["iam:Get*", "iam:List*", "iam:GenerateCredentialReport"])),
    "AmazonEC2ReadOnlyAccess": _doc(_allow(["ec2:Describe*", "elasticloadbalancing:Describe*"])),
    "AmazonEKSClusterPolicy": _doc(_allow(["ec2:*", "elasticloadbalancing:*", "iam:CreateServiceLinkedRole",
                                           "kms:CreateGrant", "kms:DescribeKey"])),
    "AmazonEKSServicePolicy": _doc(_allow(["ec2:*", "iam:ListAttachedRolePolicies"])),
    "AmazonEKSWorkerNodePolicy": _doc(_allow(["ec2:DescribeInstances", "ec2:DescribeInstanceTypes",
                                              "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
                                              "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeVpcs",
                                              "eks:DescribeCluster", "eks-auth:AssumeRoleForPodIdentity"])),
    "AmazonEKS_CNI_Policy": _doc(_allow(["ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface",
                                         "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                                         "ec2:DescribeInstances", "ec2:DescribeTags",
                                         "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstanceTypes",
                                         "ec2:DetachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute",
                                         "ec2:UnassignPrivateIpAddresses", "ec2:CreateTags"])),
    "AmazonEC2ContainerRegistryReadOnly": _doc(_allow(["ecr:GetAuthorizationToken",
                                                       "ecr:BatchCheckLayerAvailability",
                                                       "ecr:GetDownloadUrlForLayer", "ecr:GetRepositoryPolicy",
                                                       "ecr:DescribeRepositories", "ecr:ListImages",
                                                       "ecr:DescribeImages", "ecr:BatchGetImage"])),
    "AmazonEC2ContainerRegistryFullAccess": _doc(_allow(["ecr:*"])),
    "AmazonEKSFargatePodExecutionRolePolicy": _doc(_allow(["ecr:GetAuthorizationToken",
                                                           "ecr:BatchCheckLayerAvailability",
                                                           "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"])),
}


def arn_of(name: str) -> str:
    return AWS_POLICY_PREFIX + name


def document(policy_arn: str) -> dict | None:
    if not policy_arn.startswith(AWS_POLICY_PREFIX):
        return None
    return MANAGED_POLICIES.get(policy_arn[len(AWS_POLICY_PREFIX):])
