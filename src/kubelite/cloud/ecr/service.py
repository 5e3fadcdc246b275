"""The ECR API (json 1.1, `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`):
CreateRepository, DescribeRepositories, DeleteRepository (`force` for non-empty ones), ListImages,
DescribeImages, BatchDeleteImage, GetAuthorizationToken, SetRepositoryPolicy,
GetRepositoryPolicy, DeleteRepositoryPolicy, with ECR's errors (`RepositoryNotFoundException`,
`RepositoryAlreadyExistsException`, `RepositoryNotEmptyException`, `ImageNotFoundException`,
`RepositoryPolicyNotFoundException`, `InvalidParameterException`).

Repository URIs are `<account>.dkr.ecr.<region>.amazonaws.com/<name>`; the service's registry
answers for those names (see `registry`).
"""

from __future__ import annotations

import asyncio
import base64
import shutil
from typing import Any, Callable

from ..api import errors
from ..api.errors import JSON, ServiceError
from ..api.gateway import Call
from ..api.protocols import Response, render_json
from . import repositories as repos
from .tokens import USERNAME, Tokens


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400)


def _image_id(i: Any) -> tuple[str, str]:
    if not isinstance(i, dict) or not (i.get("imageDigest") or i.get("imageTag")):
        raise _invalid("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Each image ID must have an "
                       "imageDigest or an imageTag'")
    return str(i.get("imageDigest") or ""), str(i.get("imageTag") or "")


class ECRService:
    name = "ecr"
    protocol = JSON

    def __init__(self, repositories: repos.Repositories, tokens: Tokens, iam: Any, storage: Any, *,
                 now: Callable[[], float], on_registry: Callable[[str, str], Any]):
        self.repos = repositories
        self.tokens = tokens
        self.iam = iam
        self.storage = storage          # the registry's RegistryStorage (blobs, tags, manifests)
        self.now = now
        self.on_registry = on_registry  # (account, region) -> await: its host name resolves
        self.ops = {n[3:]: getattr(self, n) for n in dir(self) if n.startswith("op_")}

    async def handle(self, call: Call) -> Response:
        op = self.ops.get(call.action)
        if op is None:
            raise errors.unknown_operation(f"Unknown operation {call.action}")
        result = await op(call, call.json_body())
        return render_json(result, call.request_id, content_type="application/x-amz-json-1.1")

    # -- helpers -----------------------------------------------------------------------------------
    def _authorize(self, call: Call, action: str, resource: str, repo: dict | None = None) -> None:
        p = call.principal
        ok = self.repos.allowed(p, action, repo) if repo is not None else \
            self.iam.is_allowed(p, action, resource, call.region)
        if not ok:
            raise errors.access_denied(f"User: {p.arn} is not authorized to perform: {action} on resource: "
                                       f"{resource}")

    def _registry(self, call: Call, req: dict) -> str:
        rid = req.get("registryId") or call.principal.account
        if not isinstance(rid, str) or not rid.isdigit() or len(rid) != 12:
            raise _invalid("Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular "
                           f"expression '[0-9]{{12}}''")
        return rid

    def _name(self, req: dict) -> str:
        name = req.get("repositoryName")
        if not isinstance(name, str) or not name:
            raise _invalid("Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must not be null'")
        if not 2 <= len(name) <= 256 or not repos.NAME_RE.match(name):
            raise _invalid(f"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
                           f"regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'' "
                           f"(got '{name}')")
        return name

    def _repo(self, call: Call, req: dict, action: str) -> dict:
        account, name = self._registry(call, req), self._name(req)
        repo = self.repos.get(account, call.region, name)
        if repo is None:
            self._authorize(call, action, repos.repo_arn(account, call.region, name))
            raise repos.not_found(name, account)
        self._authorize(call, action, repo["repositoryArn"], repo)
        return repo

    def _view(self, repo: dict) -> dict:
        return {k: v for k, v in repo.items() if k != "internal"}

    # -- repositories ------------------------------------------------------------------------------
    async def op_CreateRepository(self, call: Call, req: dict) -> dict:
        account, name = self._registry(call, req), self._name(req)
        if account != call.principal.account:
            raise _invalid("Invalid parameter at 'registryId': repositories can only be created in the caller's "
                           "own registry")
        arn = repos.repo_arn(account, call.region, name)
        self._authorize(call, "ecr:CreateRepository", arn)
        mut = req.get("imageTagMutability") or "MUTABLE"
        if mut not in ("MUTABLE", "IMMUTABLE"):
            raise _invalid("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must "
                           "satisfy enum value set: [MUTABLE, IMMUTABLE]'")
        tags = req.get("tags") or []
        if not isinstance(tags, list) or len(tags) > 50:
            raise ServiceError("InvalidTagParameterException", "Invalid tags: at most 50, as Key/Value pairs", 400)
        key = f"{account}/{call.region}/{name}"
        if self.repos.get(account, call.region, name) is not None:
            raise ServiceError("RepositoryAlreadyExistsException", f"The repository with name '{name}' already "
                                                                   f"exists in the registry with id '{account}'", 400)
        host = repos.registry_host(account, call.region)
        repo = {"repositoryArn": arn, "registryId": account, "repositoryName": name,
                "repositoryUri": f"{host}/{name}", "createdAt": self.now(), "imageTagMutability": mut,
                "imageScanningConfiguration": {"scanOnPush": bool((req.get("imageScanningConfiguration") or {})
                                                                  .get("scanOnPush", False))},
                "encryptionConfiguration": {"encryptionType": (req.get("encryptionConfiguration") or {})
                                            .get("encryptionType", "AES256")},
                "internal": {"tags": tags, "policy": ""}}
        await self.repos.state.put(repos.TABLE, key, repo)
        await self.on_registry(account, call.region)
        return {"repository": self._view(repo)}

    async def op_DescribeRepositories(self, call: Call, req: dict) -> dict:
        account = self._registry(call, req)
        names = req.get("repositoryNames")
        if names:
            out = []
            for n in names:
                out.append(self._view(self._repo(call, {"registryId": account, "repositoryName": n},
                                                 "ecr:DescribeRepositories")))
        else:
            self._authorize(call, "ecr:DescribeRepositories", f"arn:aws:ecr:{call.region}:{account}:repository/*")
            out = [self._view(r) for r in sorted(self.repos.list(account, call.region),
                                                 key=lambda r: r["repositoryName"])]
        return self._paged("repositories", out, req)

    def _paged(self, member: str, items: list[dict], req: dict) -> dict:
        limit = req.get("maxResults") or 1000
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise _invalid("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value "
                           "between 1 and 1000'")
        start = 0
        if req.get("nextToken"):
            try:
                start = int(base64.b64decode(req["nextToken"]).decode())
            except (ValueError, UnicodeDecodeError):
                raise _invalid("Invalid parameter at 'nextToken'") from None
        out: dict[str, Any] = {member: items[start:start + limit]}
        if start + limit < len(items):
            out["nextToken"] = base64.b64encode(str(start + limit).encode()).decode()
        return out

    async def op_DeleteRepository(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:DeleteRepository")
        account, name = repo["registryId"], repo["repositoryName"]
        sname = repos.storage_name(account, call.region, name)
        imgs = await asyncio.to_thread(repos.images, self.storage.root, sname)
        if imgs and not req.get("force"):
            raise ServiceError("RepositoryNotEmptyException", f"The repository with name '{name}' in registry with "
                                                              f"id '{account}' cannot be deleted because it still "
                                                              f"contains images", 400)
        await asyncio.to_thread(shutil.rmtree, self.storage.root / "repositories" / sname, True)
        await self.repos.state.delete(repos.TABLE, f"{account}/{call.region}/{name}")
        return {"repository": self._view(repo)}

    # -- images ------------------------------------------------------------------------------------
    async def _images(self, call: Call, repo: dict) -> list[dict]:
        return await asyncio.to_thread(repos.images, self.storage.root,
                                       repos.storage_name(repo["registryId"], call.region, repo["repositoryName"]))

    @staticmethod
    def _filter(imgs: list[dict], req: dict) -> list[dict]:
        status = ((req.get("filter") or {}).get("tagStatus") or "ANY")
        if status == "TAGGED":
            return [i for i in imgs if i["imageTags"]]
        if status == "UNTAGGED":
            return [i for i in imgs if not i["imageTags"]]
        return imgs

    async def op_ListImages(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:ListImages")
        ids = []
        for i in self._filter(await self._images(call, repo), req):
            if i["imageTags"]:
                ids += [{"imageDigest": i["imageDigest"], "imageTag": t} for t in i["imageTags"]]
            else:
                ids.append({"imageDigest": i["imageDigest"]})
        return self._paged("imageIds", ids, req)

    async def op_DescribeImages(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:DescribeImages")
        imgs = self._filter(await self._images(call, repo), req)
        wanted = [_image_id(i) for i in req.get("imageIds") or []]
        if wanted:
            chosen = []
            for digest, tag in wanted:
                m = [i for i in imgs if (not digest or i["imageDigest"] == digest) and (not tag or tag in i["imageTags"])]
                if not m:
                    what = f"imageTag={tag}" if tag else f"imageDigest={digest}"
                    raise ServiceError("ImageNotFoundException", f"The image with imageId {{{what}}} does not exist "
                                                                 f"within the repository with name "
                                                                 f"'{repo['repositoryName']}' in the registry with id "
                                                                 f"'{repo['registryId']}'", 400)
                chosen += [x for x in m if x not in chosen]
            imgs = chosen
        details = [{"registryId": repo["registryId"], "repositoryName": repo["repositoryName"],
                    **{k: v for k, v in i.items() if v or k == "imageTags"}, "imageStatus": "ACTIVE"} for i in imgs]
        for d in details:
            if not d["imageTags"]:
                del d["imageTags"]
        return self._paged("imageDetails", details, req)

    async def op_BatchDeleteImage(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:BatchDeleteImage")
        wanted = req.get("imageIds")
        if not wanted:
            raise _invalid("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length "
                           "greater than or equal to 1'")
        sname = repos.storage_name(repo["registryId"], call.region, repo["repositoryName"])
        imgs = await self._images(call, repo)
        deleted, failures = [], []
        for raw in wanted:
            digest, tag = _image_id(raw)
            m = next((i for i in imgs if (not digest or i["imageDigest"] == digest)
                      and (not tag or tag in i["imageTags"])), None)
            if m is None:
                failures.append({"imageId": dict(raw), "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
                continue
            if tag and not digest:   # a tag: only the tag goes (the manifest too if it was the last)
                await asyncio.to_thread(self.storage.delete_tag, sname, tag)
                m["imageTags"].remove(tag)
                if not m["imageTags"]:
                    await asyncio.to_thread(self.storage.delete_manifest, sname, m["imageDigest"])
                deleted.append({"imageDigest": m["imageDigest"], "imageTag": tag})
            else:
                await asyncio.to_thread(self.storage.delete_manifest, sname, m["imageDigest"])
                deleted += [{"imageDigest": m["imageDigest"], **({"imageTag": t} if t else {})}
                            for t in (m["imageTags"] or [""])]
                imgs.remove(m)
        return {"imageIds": deleted, "failures": failures}

    # -- tokens ------------------------------------------------------------------------------------
    async def op_GetAuthorizationToken(self, call: Call, req: dict) -> dict:
        self._authorize(call, "ecr:GetAuthorizationToken", "*")
        ids = req.get("registryIds") or [call.principal.account]
        for rid in ids:
            self._registry(call, {"registryId": rid})
        password, expires = await self.tokens.issue(call.principal)
        token = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
        out = []
        for rid in ids:
            await self.on_registry(rid, call.region)
            out.append({"authorizationToken": token, "expiresAt": round(expires.timestamp(), 3),
                        "proxyEndpoint": f"https://{repos.registry_host(rid, call.region)}"})
        return {"authorizationData": out}

    # -- repository policies -----------------------------------------------------------------------
    async def op_SetRepositoryPolicy(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:SetRepositoryPolicy")
        text = req.get("policyText")
        if not isinstance(text, str) or not text:
            raise _invalid("Invalid parameter at 'policyText' failed to satisfy constraint: 'must not be null'")
        repos.check_policy_text(text)
        repo["internal"]["policy"] = text
        await self.repos.state.put(repos.TABLE, f"{repo['registryId']}/{call.region}/{repo['repositoryName']}", repo)
        return {"registryId": repo["registryId"], "repositoryName": repo["repositoryName"], "policyText": text}

    def _policy(self, call: Call, repo: dict) -> str:
        text = repo["internal"].get("policy")
        if not text:
            raise ServiceError("RepositoryPolicyNotFoundException", f"Repository policy does not exist for the "
                                                                    f"repository with name "
                                                                    f"'{repo['repositoryName']}' in the registry with "
                                                                    f"id '{repo['registryId']}'", 400)
        return text

    async def op_GetRepositoryPolicy(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:GetRepositoryPolicy")
        return {"registryId": repo["registryId"], "repositoryName": repo["repositoryName"],
                "policyText": self._policy(call, repo)}

    async def op_DeleteRepositoryPolicy(self, call: Call, req: dict) -> dict:
        repo = self._repo(call, req, "ecr:DeleteRepositoryPolicy")
        text = self._policy(call, repo)
        repo["internal"]["policy"] = ""
        await self.repos.state.put(repos.TABLE, f"{repo['registryId']}/{call.region}/{repo['repositoryName']}", repo)
        return {"registryId": repo["registryId"], "repositoryName": repo["repositoryName"], "policyText": text}
