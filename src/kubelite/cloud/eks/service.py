"""The EKS API (rest-json, API 2017-11-01): routing by method and path, authorisation of every
operation against the caller's identity policies (`eks:<Operation>`), and what the operations
share (finding a cluster, pagination, idempotent replays). The operations themselves live in
`clusters`, `nodegroups`, `fargate`, `updates`, `access` and `tags`.

Paths are split on `/` before their segments are decoded, so an ARN with `%2F` in it stays one
segment (`/clusters/c/access-entries/arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fdev%2Fr`).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from kubelite.cloud import arn as arns
from kubelite.cloud import sigv4
from kubelite.cloud.api import errors
from kubelite.cloud.api.errors import REST_JSON
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.api.protocols import Response, render_json
from kubelite.cloud.config import CloudConfig
from kubelite.cloud.ec2.network import Network
from kubelite.cloud.iam.store import IAMStore
from kubelite.cloud.ids import Ids
from kubelite.cloud.state import State

from . import model
from .validation import Fields

log = logging.getLogger(__name__)


REPLAY_WINDOW = 24 * 3600.0


@dataclass
class EKSEnv:
    """What the operations need: the state, IAM, the VPC model, and a way to wake the controller."""

    state: State
    iam: IAMStore
    network: Network
    config: CloudConfig
    ids: Ids
    clock: Any
    kick: Callable[[str, str], None]          # (kind "cluster" | "nodegroup" | "fargate", key)

    def now(self) -> float:
        return round(self.clock.now().timestamp(), 3)

    # -- authorisation ---------------------------------------------------------------------------
    def authorize(self, call: Call, action: str, resource: str) -> None:
        p = call.principal
        if not self.iam.is_allowed(p, action, resource, call.region):
            raise errors.access_denied(f"User: {p.arn} is not authorized to perform: {action} on resource: "
                                       f"{resource}")

    def cluster_arn(self, call: Call, name: str) -> str:
        return arns.eks(call.region, call.principal.account, f"cluster/{name}")

    # -- lookups ---------------------------------------------------------------------------------
    def cluster_key(self, call: Call, name: str) -> str:
        return model.cluster_key(call.principal.account, call.region, name)

    def cluster(self, call: Call, name: str) -> tuple[str, dict]:
        key = self.cluster_key(call, name)
        c = self.state.get("eks-clusters", key)
        if c is None:
            raise errors.resource_not_found(f"No cluster found for name: {name}.", clusterName=name)
        return key, c

    def nodegroups(self, cluster_key: str) -> list[dict]:
        return self.state.values("eks-nodegroups", cluster_key + "/")

    # -- idempotency -----------------------------------------------------------------------------
    def replay(self, call: Call, op: str, token: Any) -> dict | None:
        if not token or not isinstance(token, str):
            return None
        r = self.state.get("eks-requests", f"{call.principal.account}/{op}/{token}")
        return r["response"] if r else None

    async def remember(self, call: Call, op: str, token: Any, response: dict) -> None:
        """Keep the answer to a request with a client token for a day (retries get it again)."""
        if not token or not isinstance(token, str):
            return
        now = self.now()
        for key, r in list(self.state.items("eks-requests")):
            if r["at"] < now - REPLAY_WINDOW:
                await self.state.delete("eks-requests", key)
        await self.state.put("eks-requests", f"{call.principal.account}/{op}/{token}",
                             {"response": response, "at": now})


def page(ctx: Fields, names: list[str], max_results: str | None, next_token: str | None) -> tuple[list[str], str]:
    """A page of an ordered list of names, with EKS' opaque `nextToken` (the last name given)."""
    limit = 100
    if max_results is not None:
        try:
            limit = int(max_results)
        except ValueError:
            raise ctx.invalid(f"Invalid value for maxResults: {max_results}") from None
        if not 1 <= limit <= 100:
            raise ctx.invalid("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy "
                              "constraint: Member must have value between 1 and 100" % limit)
    start = 0
    if next_token:
        try:
            after = base64.urlsafe_b64decode(next_token.encode()).decode()
        except Exception:
            raise ctx.invalid("The nextToken provided is invalid.") from None
        start = names.index(after) + 1 if after in names else \
            next((i for i, n in enumerate(names) if n > after), len(names))
    items = names[start:start + limit]
    more = start + limit < len(names)
    return items, (base64.urlsafe_b64encode(items[-1].encode()).decode() if more and items else "")



def paged(ctx: Fields, field: str, names: list[str], req: dict) -> dict:
    """A List* response: a page of `names` under `field`, and `nextToken` when more remain."""
    items, token = page(ctx, names, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {field: items}
    if token:
        out["nextToken"] = token
    return out

Op = Callable[[EKSEnv, Call, dict], Awaitable[dict]]

# (method, path pattern) -> operation name. `{x}` matches one (decoded) segment.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "clusters", "ListClusters"),
    ("POST", "clusters", "CreateCluster"),
    ("GET", "clusters/{name}", "DescribeCluster"),
    ("DELETE", "clusters/{name}", "DeleteCluster"),
    ("POST", "clusters/{name}/updates", "UpdateClusterVersion"),
    ("GET", "clusters/{name}/updates", "ListUpdates"),
    ("GET", "clusters/{name}/updates/{updateId}", "DescribeUpdate"),
    ("POST", "clusters/{name}/update-config", "UpdateClusterConfig"),
    ("POST", "clusters/{name}/node-groups", "CreateNodegroup"),
    ("GET", "clusters/{name}/node-groups", "ListNodegroups"),
    ("GET", "clusters/{name}/node-groups/{nodegroupName}", "DescribeNodegroup"),
    ("DELETE", "clusters/{name}/node-groups/{nodegroupName}", "DeleteNodegroup"),
    ("POST", "clusters/{name}/node-groups/{nodegroupName}/update-config", "UpdateNodegroupConfig"),
    ("POST", "clusters/{name}/node-groups/{nodegroupName}/update-version", "UpdateNodegroupVersion"),
    ("POST", "clusters/{name}/access-entries", "CreateAccessEntry"),
    ("GET", "clusters/{name}/access-entries", "ListAccessEntries"),
    ("GET", "clusters/{name}/access-entries/{principalArn}", "DescribeAccessEntry"),
    ("POST", "clusters/{name}/access-entries/{principalArn}", "UpdateAccessEntry"),
    ("DELETE", "clusters/{name}/access-entries/{principalArn}", "DeleteAccessEntry"),
    ("POST", "clusters/{name}/access-entries/{principalArn}/access-policies", "AssociateAccessPolicy"),
    ("GET", "clusters/{name}/access-entries/{principalArn}/access-policies", "ListAssociatedAccessPolicies"),
    ("DELETE", "clusters/{name}/access-entries/{principalArn}/access-policies/{policyArn}",
     "DisassociateAccessPolicy"),
    ("POST", "clusters/{name}/fargate-profiles", "CreateFargateProfile"),
    ("GET", "clusters/{name}/fargate-profiles", "ListFargateProfiles"),
    ("GET", "clusters/{name}/fargate-profiles/{fargateProfileName}", "DescribeFargateProfile"),
    ("DELETE", "clusters/{name}/fargate-profiles/{fargateProfileName}", "DeleteFargateProfile"),
    ("GET", "access-policies", "ListAccessPolicies"),
    ("POST", "tags/{resourceArn}", "TagResource"),
    ("GET", "tags/{resourceArn}", "ListTagsForResource"),
    ("DELETE", "tags/{resourceArn}", "UntagResource"),
]


def route(method: str, raw_path: str) -> tuple[str, dict[str, str]] | None:
    segments = sigv4.decoded_path_segments(raw_path)
    for m, pattern, op in ROUTES:
        if m != method:
            continue
        parts = pattern.split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        for p, s in zip(parts, segments):
            if p.startswith("{"):
                if not s:
                    break
                params[p[1:-1]] = s
            elif p != s:
                break
        else:
            return op, params
    return None


class EKSService:
    name = "eks"
    protocol = REST_JSON

    def __init__(self, env: EKSEnv):
        from . import access, clusters, fargate, nodegroups, tags, updates

        self.env = env
        self.ops: dict[str, Op] = {}
        for mod in (clusters, nodegroups, fargate, updates, access, tags):
            self.ops.update(mod.OPERATIONS)

    async def handle(self, call: Call) -> Response:
        r = route(call.method, call.raw_path)
        if r is None:
            raise errors.unknown_operation(f"No operation for {call.method} {call.raw_path}")
        op, path_params = r
        call.action = op
        body = call.json_body() if call.method in ("POST", "PUT") else {}
        for k, v in sigv4.parse_query(call.raw_query):
            if k == "tagKeys":
                body.setdefault("tagKeys", []).append(v)
            else:
                body.setdefault(k, v)
        body.update(path_params)
        result = await self.ops[op](self.env, call, body)
        return render_json(result, call.request_id)
