"""EKS (rest-json, API 2017-11-01).

- `service`: routing, authorisation, what operations share; the operations in `clusters`,
  `nodegroups`, `updates`, `access`, `tags`; input checks in `validation`; records and views
  in `model`.
- `controller` (`workers`, `cluster_sync`, `nodegroup_sync`): drives clusters and node groups
  to their recorded state through the provisioner seams.
- `token` (EKS bearer tokens), `mapper` (IAM identity → Kubernetes user), `rbac` (access
  policies → RBAC bindings), `authenticator` (the clusters' token-review webhook and the
  nodes' credentials endpoint).
"""
