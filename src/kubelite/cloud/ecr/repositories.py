"""ECR repositories as the service keeps them (table `ecr-repositories`, key
`<account>/<region>/<name>`), and who may do what with one: the caller's identity policies (same
account) and the repository's policy (any account; an explicit deny there wins), as ECR decides.

Images live in the one registry the service runs, each account and region in its own namespace
(`<account>/<region>/<name>` inside the registry's storage); `images(...)` reads them back as
ListImages and DescribeImages show them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..api.errors import ServiceError
from ..iam import policy
from ..iam.store import Principal
from ..state import State

TABLE = "ecr-repositories"
NAME_RE = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH_ACTIONS = ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                "ecr:BatchCheckLayerAvailability")
DELETE_ACTIONS = ("ecr:BatchDeleteImage",)


def registry_host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


HOST_RE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")


def parse_host(host: str) -> tuple[str, str] | None:
    m = HOST_RE.match(host.lower())
    return (m.group(1), m.group(2)) if m else None


def repo_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def storage_name(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def not_found(name: str, account: str) -> ServiceError:
    return ServiceError("RepositoryNotFoundException", f"The repository with name '{name}' does not exist in the "
                                                       f"registry with id '{account}'", 400)


class Repositories:
    def __init__(self, state: State, iam: Any):
        self.state = state
        self.iam = iam

    def get(self, account: str, region: str, name: str) -> dict | None:
        return self.state.get(TABLE, f"{account}/{region}/{name}")

    def require(self, account: str, region: str, name: str) -> dict:
        r = self.get(account, region, name)
        if r is None:
            raise not_found(name, account)
        return r

    def list(self, account: str, region: str) -> list[dict]:
        return self.state.values(TABLE, f"{account}/{region}/")

    def all(self) -> list[dict]:
        return self.state.values(TABLE)

    def allowed(self, p: Principal, action: str, repo: dict) -> bool:
        """May `p` do `action` on `repo`? Identity policy (same account) or repository policy; a
        deny in the repository policy always wins."""
        decision = None
        text = repo.get("internal", {}).get("policy")
        if text:
            decision = repository_policy_decision(text, p, action)
            if decision == policy.DENY:
                return False
        if p.account == repo["registryId"] and self.iam.is_allowed(p, action, repo["repositoryArn"]):
            return True
        return decision == policy.ALLOW


def repository_policy_decision(text: str, p: Principal, action: str) -> str | None:
    """ALLOW, DENY, or None (the policy says nothing about this caller and action)."""
    try:
        statements = policy.parse(text, trust=True)
    except ServiceError:
        return None
    caller = policy.Caller(p.account, tuple(a for a in (p.arn, p.role_arn, p.canonical_arn) if a))
    decision = None
    for s in statements:
        if not (policy.action_matches(s.actions, action) if s.not_actions is None
                else not policy.action_matches(s.not_actions, action)):
            continue
        if policy.match_principal(s, caller) is None:
            continue
        if s.effect == policy.DENY:
            return policy.DENY
        decision = policy.ALLOW
    return decision


def check_policy_text(text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError:
        raise ServiceError("InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy "
                                                        "constraint: 'Invalid repository policy provided'", 400) from None
    try:
        policy.parse(doc, trust=True)
    except ServiceError as e:
        raise ServiceError("InvalidParameterException", f"Invalid parameter at 'PolicyText' failed to satisfy "
                                                        f"constraint: 'Invalid repository policy provided': "
                                                        f"{e.message}", 400) from None


# -- images in the registry's storage (its on-disk layout: repositories/<name>/_manifests/...) -----

def images(root: Path, name: str) -> list[dict]:
    """Every manifest of a repository: digest, tags, media type, size, pushed-at (epoch)."""
    repo = root / "repositories" / name / "_manifests"
    revs = repo / "revisions" / "sha256"
    tags_dir = repo / "tags"
    by_digest: dict[str, list[str]] = {}
    if tags_dir.is_dir():
        for t in sorted(tags_dir.iterdir()):
            if not t.name.startswith("."):
                by_digest.setdefault(t.read_text().strip(), []).append(t.name)
    out = []
    if not revs.is_dir():
        return out
    for rev in sorted(revs.iterdir()):
        digest = f"sha256:{rev.name}"
        try:
            media = json.loads(rev.read_bytes()).get("mediaType", "")
            manifest = json.loads((root / "blobs" / "sha256" / rev.name).read_bytes())
        except (OSError, ValueError):
            continue
        size = sum(int(layer.get("size") or 0) for layer in manifest.get("layers") or [])
        size += int((manifest.get("config") or {}).get("size") or 0)
        out.append({"imageDigest": digest, "imageTags": by_digest.get(digest, []), "imageSizeInBytes": size,
                    "imageManifestMediaType": media or manifest.get("mediaType", ""),
                    "artifactMediaType": (manifest.get("config") or {}).get("mediaType", ""),
                    "imagePushedAt": rev.stat().st_mtime})
    return out


def now_epoch() -> float:
    return round(datetime.now(timezone.utc).timestamp(), 3)
