"""The managed service: a local Amazon EKS that the real AWS CLI and boto3 drive, where every
cluster really runs (its own kubelite control plane) and IAM decides who may use kubectl.

One endpoint (`kubelite cloud`, http://127.0.0.1:4566) serves EKS (rest-json), IAM and STS
(query), and EC2 (ec2) — each request SigV4-verified against the service's own IAM store.

- `api`: the front door: protocol recognition and envelopes (`protocols`), the `Gateway`
  (authenticate, dispatch, render), AWS errors as data (`errors`).
- `sigv4`: signatures of requests and presigned URLs (pure).
- `iam`, `sts`: identities, keys, roles, policies and their evaluation; temporary credentials.
- `ec2`: the VPC model (each account's default VPC, a subnet per zone, instance addresses).
- `eks`: the EKS API (clusters, node groups, updates, access entries, tags), the controller that
  drives clusters and node groups to what the API recorded, EKS tokens and identity mapping
  (`token`, `mapper`, `rbac`, `authenticator`).
- `provisioner`: the seams to what runs (`ControlPlanes`, `Instances`) with fakes, the child
  process per cluster, and the webhook token authenticator its API server uses.
- `state`: durable JSON documents in a `kubelite.storage` backend (SQLite in the data dir).
- `service`: `CloudService`, everything wired in one TaskGroup; `config`: options and the
  documented starter account.

The cloud layer is a client of the Kubernetes layer: it starts control planes and node agents
and talks to clusters only through their API (`kubelite.client`).

May import: `kubelite.controlplane`, `kubelite.client`, `kubelite.storage`, `kubelite.machinery`,
`kubelite.apiserver` (authentication types), `kubelite.agent` (node instances); third party:
aiohttp, orjson, PyYAML.
"""
