"""The managed service: a local Amazon EKS that the real AWS CLI and boto3 drive, where every
cluster really runs (its own kubelite control plane) and IAM decides who may use kubectl.

One endpoint (`kubelite cloud`, http://127.0.0.1:4566) serves EKS (rest-json), IAM, STS and ELBv2
(query), EC2 (ec2), ECR and ACM (json 1.1) — each request SigV4-verified against the service's own
IAM store. Load balancers and the ECR registry serve on addresses of their own; their DNS names
resolve through the service's block of /etc/hosts (`hosts`).

- `api`: the front door: protocol recognition and envelopes (`protocols`), the `Gateway`
  (authenticate, dispatch, render), AWS errors as data (`errors`).
- `sigv4`: signatures of requests and presigned URLs (pure).
- `iam`, `sts`: identities, keys, roles, policies and their evaluation; temporary credentials.
- `ec2`: the VPC model (default VPCs, CreateVpc/CreateSubnet, addresses of instances, their pods,
  control planes and load balancers) and instance types' pod limits.
- `eks`: the EKS API (clusters, node groups, Fargate profiles, updates, access entries, tags), the
  controller that drives them to what the API recorded (`cluster_sync`, `nodegroup_sync`,
  `fargate_sync`), the controllers run against each cluster's API (`incluster`: the load balancer
  controller and the Fargate scheduler), EKS tokens and identity mapping (`token`, `mapper`,
  `rbac`, `authenticator`).
- `elb`: Services and `alb` Ingresses → NLBs and ALBs (`kubelite.lb` instances), the ELBv2 API.
- `ecr`: repositories, tokens, the registry behind `<account>.dkr.ecr.<region>.amazonaws.com`.
- `acm`: imported certificates for HTTPS listeners.
- `provisioner`: the seams to what runs (`ControlPlanes`, `Instances`, `HostNetworks`) with fakes,
  the child process per cluster (with the Fargate admission plugin), node agents with the VPC
  CNI network (`vpc_agent`), and the webhook token authenticator its API server uses.
- `state`: durable JSON documents in a `kubelite.storage` backend (SQLite in the data dir).
- `service`: `CloudService`, everything wired in one TaskGroup; `config`: options and the
  documented starter account.

The cloud layer is a client of the Kubernetes layer: it starts control planes and node agents
and talks to clusters only through their API (`kubelite.client`).

May import: `kubelite.controlplane`, `kubelite.client`, `kubelite.storage`, `kubelite.machinery`,
`kubelite.apiserver` (authentication types), `kubelite.agent` and `kubelite.kubelet` (node
instances), `kubelite.lb`, `kubelite.controllers.base` and `kubelite.controllers.ingress.translate`
(the load balancer controller), `kubelite.images.registry` (ECR); third party: aiohttp, orjson,
PyYAML, cryptography.
"""
