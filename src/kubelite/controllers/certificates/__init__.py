"""Certificates and bootstrap tokens (Kubernetes' `pkg/controller/certificates` and
`pkg/controller/bootstrap`).

- `csr`: pure helpers: parse a CSR object's request, recognise a kubelet client request
  (`system:node:<name>` in `system:nodes`, client usages, no SANs), read its conditions.
- `approver`: `CSRApprovingController` approves kubelet client CSRs whose requester may create
  `certificatesigningrequests/nodeclient` (bootstrappers) or `/selfnodeclient` (the node itself,
  renewing), checked with a SubjectAccessReview; it denies a bootstrapper's request for a node
  name whose agent is alive (fresh Lease or Ready heartbeat).
- `signer`: `CSRSigningController` issues approved `kubernetes.io/kube-apiserver-client-kubelet`
  certificates with the cluster CA (options `cluster_signing_cert_file`,
  `cluster_signing_key_file`, `cluster_signing_duration` seconds).
- `bootstrapsigner`: `BootstrapSignerController` signs `kube-public/cluster-info` with every
  signing token (`jws-kubeconfig-<id>`).
- `tokencleaner`: `TokenCleaner` deletes expired bootstrap token Secrets.

May import: `kubelite.controllers.base`, `kubelite.client`, `kubelite.bootstrap.tokens`,
`kubelite.client.pki`, `kubelite.api`, `kubelite.machinery`.
"""

from .approver import CSRApprovingController
from .bootstrapsigner import BootstrapSignerController
from .signer import CSRSigningController
from .tokencleaner import TokenCleaner

__all__ = ["BootstrapSignerController", "CSRApprovingController", "CSRSigningController", "TokenCleaner"]
