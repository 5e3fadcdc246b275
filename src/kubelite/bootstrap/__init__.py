"""Joining nodes: bootstrap tokens and the kubelet TLS bootstrap (Kubernetes' bootstrap tokens,
kubeadm's discovery and the kubelet's certificate bootstrap).

- `tokens`: the token format (`[a-z0-9]{6}.[a-z0-9]{16}`), the `bootstrap-token-<id>` Secrets
  in kube-system, TTLs, the detached JWS that signs `kube-public/cluster-info`, and the CA
  public-key pin `sha256:<hex>` (pure).
- `tokenapi`: create, list and delete tokens through the API (`kubelite token ...`).
- `authenticator`: `BootstrapTokenAuthenticator`, the API server's token authenticator for
  `system:bootstrap:<id>` in `system:bootstrappers`.
- `csr`: the server side of CertificateSigningRequests: requester identity stamped on create
  (admission) and the `approval` subresource.
- `policy`: the RBAC objects joining needs (bootstrappers may create node CSRs, the approver's
  `nodeclient`/`selfnodeclient` permissions, anonymous read of `cluster-info`).
- `server`: `install(server)` wires the above into an `APIServer`; `ensure(server, ...)`
  creates the policy and the `cluster-info` ConfigMap.
- `join`: the agent side: discover and pin the CA, request a `system:node:<name>` client
  certificate with the token, wait for it, write the node's kubeconfig.

May import: `kubelite.apiserver`, `kubelite.registry`, `kubelite.client`, `kubelite.api`,
`kubelite.machinery`; third party: cryptography.
"""
