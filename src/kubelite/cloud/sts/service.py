"""The STS service: who am I, and temporary credentials for a role or a user."""

from __future__ import annotations

from typing import Any

from kubelite.cloud.api import errors
from kubelite.cloud.api.errors import QUERY
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.api.protocols import Response, render_json, render_query
from kubelite.cloud.iam.store import IAMStore

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"


class STSService:
    name = "sts"
    protocol = QUERY

    def __init__(self, iam: IAMStore):
        self.iam = iam

    async def handle(self, call: Call) -> Response:
        params = call.form
        if (params.get("Version") or VERSION) != VERSION:
            raise errors.invalid_action(call.action, params.get("Version") or "")
        op = {"GetCallerIdentity": self.get_caller_identity, "AssumeRole": self.assume_role,
              "GetSessionToken": self.get_session_token}.get(call.action)
        if op is None:
            raise errors.invalid_action(call.action, VERSION)
        result = await op(call)
        if "application/json" in {k.lower(): v for k, v in call.headers.items()}.get("accept", ""):
            # What aws-iam-authenticator asks for when it checks a token against STS.
            return render_json({f"{call.action}Response": {f"{call.action}Result": result,
                                                           "ResponseMetadata": {"RequestId": call.request_id}}},
                               call.request_id)
        return render_query(call.action, NAMESPACE, result, call.request_id)

    async def get_caller_identity(self, call: Call) -> dict[str, Any]:
        p = call.principal
        return {"UserId": p.user_id, "Account": p.account, "Arn": p.arn}

    async def assume_role(self, call: Call) -> dict[str, Any]:
        params = call.form
        role_arn = params.require("RoleArn")
        session = params.require("RoleSessionName")
        creds, p = await self.iam.assume_role(call.principal, role_arn, session, duration=params.int("DurationSeconds"),
                                              external_id=params.get("ExternalId"), region=call.region)
        return {"Credentials": creds, "AssumedRoleUser": {"AssumedRoleId": p.user_id, "Arn": p.arn}}

    async def get_session_token(self, call: Call) -> dict[str, Any]:
        params = call.form
        return {"Credentials": await self.iam.session_token(call.principal, params.int("DurationSeconds"))}
