"""The service's side of cluster authentication:

- the token-review webhook each cluster's API server calls (`POST
  /_kubelite/clusters/<cluster id>/authenticate`, a `TokenReview`, as Kubernetes' webhook token
  authenticator sends it): the bearer secret identifies the calling cluster; the EKS token is
  verified against the IAM store with that cluster's name (`token`), and the identity mapped to
  a Kubernetes user through access entries and the cluster's `aws-auth` ConfigMap (`mapper`);
- the instance-metadata credentials endpoint node agents use (`GET
  /_kubelite/instances/<instance id>/credentials`, bearer: the instance's secret): fresh
  credentials of the node group's node role, session name = instance id, as EC2 hands an
  instance profile's credentials to an instance.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import orjson
from aiohttp import web

from kubelite.machinery import errors as kerrors

from . import mapper, token
from .service import EKSEnv

log = logging.getLogger(__name__)

AWS_AUTH_TTL = 2.0
CLUSTERS_PREFIX = "/_kubelite/clusters/"
INSTANCES_PREFIX = "/_kubelite/instances/"


class TokenReviewer:
    def __init__(self, env: EKSEnv, control_planes: Any, *, local_hosts: set[str]):
        self.env = env
        self.control_planes = control_planes
        self.local_hosts = local_hosts
        self._aws_auth: dict[str, tuple[float, dict | None]] = {}

    def cluster_by_id(self, cluster_id: str) -> tuple[str, dict] | None:
        for key, c in self.env.state.items("eks-clusters"):
            if c.get("id") == cluster_id:
                return key, c
        return None

    async def aws_auth(self, c: dict) -> dict | None:
        now = time.monotonic()
        hit = self._aws_auth.get(c["id"])
        if hit and now - hit[0] < AWS_AUTH_TTL:
            return hit[1]
        data = None
        try:
            cm = await self.control_planes.client(c["id"]).get("configmaps", "aws-auth", "kube-system")
            data = cm.get("data") or {}
        except kerrors.StatusError as e:
            if not kerrors.is_not_found(e):
                raise
        self._aws_auth[c["id"]] = (now, data)
        return data

    def node_name(self, c: dict, instance_id: str) -> str | None:
        inst = self.env.network.instance(c["internal"]["account"], c["internal"]["region"], instance_id)
        return inst["privateDnsName"] if inst else None

    async def review(self, key: str, c: dict, bearer: str) -> tuple[mapper.User | None, str]:
        """The Kubernetes user for a bearer token presented to cluster `c` (None and why not)."""
        try:
            principal = token.verify(bearer, c["name"], self.env.iam, now=self.env.clock.now(),
                                     local_hosts=self.local_hosts)
        except token.TokenError as e:
            return None, str(e)
        mode = c["accessConfig"]["authenticationMode"]
        aws_auth = await self.aws_auth(c) if mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP") else None
        entries = self.env.state.values("eks-access-entries", key + "/")
        user = mapper.map_user(principal, c, entries, aws_auth, lambda i: self.node_name(c, i))
        if user is None:
            return None, f"ARN is not mapped: {principal.canonical_arn}"
        return user, ""

    async def handle_token_review(self, request: web.Request) -> web.StreamResponse:
        rest = request.path[len(CLUSTERS_PREFIX):]
        cluster_id, _, action = rest.partition("/")
        if request.method != "POST" or action != "authenticate":
            return web.json_response({"message": "not found"}, status=404)
        found = self.cluster_by_id(cluster_id)
        auth = request.headers.get("Authorization", "")
        secret = auth[7:] if auth.lower().startswith("bearer ") else ""
        if found is None or not hmac.compare_digest(secret, found[1]["internal"]["webhookSecret"]):
            return web.json_response({"message": "Unauthorized"}, status=401)
        try:
            review = orjson.loads(await request.read())
            bearer = review["spec"]["token"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response({"message": "a TokenReview with spec.token is required"}, status=400)
        api_version = review.get("apiVersion") or "authentication.k8s.io/v1"
        user, why = await self.review(found[0], found[1], bearer)
        if user is None:
            log.info("cluster %s: token rejected: %s", found[1]["name"], why)
            status: dict[str, Any] = {"authenticated": False, "error": why}
        else:
            status = {"authenticated": True, "user": user.to_dict()}
        return web.json_response({"apiVersion": api_version, "kind": "TokenReview", "status": status},
                                 status=200 if user is not None else 403)

    async def handle_instance_credentials(self, request: web.Request) -> web.StreamResponse:
        rest = request.path[len(INSTANCES_PREFIX):]
        instance_id, _, action = rest.partition("/")
        if request.method != "GET" or action != "credentials":
            return web.json_response({"Code": "NotFound"}, status=404)
        auth = request.headers.get("Authorization", "")
        secret = auth[7:] if auth.lower().startswith("bearer ") else ""
        found = None
        for _, n in self.env.state.items("eks-nodegroups"):
            for i in n["internal"]["instances"]:
                if i["instanceId"] == instance_id and hmac.compare_digest(secret, i["secret"]):
                    found = (n["nodeRole"], instance_id, n["internal"]["region"])
        for _, f in self.env.state.items("eks-fargate-nodes"):
            # A Fargate node acts with its profile's pod execution role; the session is the node's
            # name (aws-auth maps it as system:node:{{SessionName}}).
            if f["instanceId"] == instance_id and hmac.compare_digest(secret, f["secret"]):
                found = (f["roleArn"], f["nodeName"], f["clusterKey"].split("/")[1])
        if found is None:
            return web.json_response({"Code": "Unauthorized"}, status=401)
        role, session, region = found
        creds = await self.env.iam.assume_role_as_service(role, session)
        return web.json_response({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": creds["AccessKeyId"],
                                  "SecretAccessKey": creds["SecretAccessKey"], "Token": creds["SessionToken"],
                                  "Expiration": creds["Expiration"], "Region": region})
