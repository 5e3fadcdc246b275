"""The credential plugin a managed node's agent runs (kubeconfig `exec`), as an EKS node runs
`aws eks get-token` with its instance profile:

    python -m kubelite.cloud.provisioner.node_token --metadata-url URL --secret-file F \
        --cluster-name NAME --region REGION

It fetches the node role's current credentials from the service's instance-metadata endpoint
(proving the instance with its secret), signs an EKS token for the cluster with them, and
prints an `ExecCredential` (valid 14 minutes, as `aws eks get-token` says).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kubelite-node-token")
    p.add_argument("--metadata-url", required=True)
    p.add_argument("--secret-file", type=Path, required=True)
    p.add_argument("--cluster-name", required=True)
    p.add_argument("--region", required=True)
    args = p.parse_args(argv)
    from kubelite.cloud.eks.token import mint

    secret = args.secret_file.read_text().strip()
    req = urllib.request.Request(args.metadata_url, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            creds = json.loads(r.read())
    except OSError as e:
        print(f"cannot get the instance's credentials from {args.metadata_url}: {e}", file=sys.stderr)
        return 1
    now = datetime.now(timezone.utc)
    host = urlsplit(args.metadata_url).netloc
    token = mint(args.cluster_name, access_key_id=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                 region=args.region, now=now, security_token=creds["Token"], host=host)
    api_version = "client.authentication.k8s.io/v1beta1"
    info = json.loads(__import__("os").environ.get("KUBERNETES_EXEC_INFO") or "{}")
    if info.get("apiVersion") in ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"):
        api_version = info["apiVersion"]
    expiry = (now + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({"kind": "ExecCredential", "apiVersion": api_version, "spec": {},
                      "status": {"expirationTimestamp": expiry, "token": token}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
