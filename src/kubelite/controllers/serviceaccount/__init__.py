"""Per-namespace service account plumbing (Kubernetes' `pkg/controller/serviceaccount` and
`pkg/controller/certificates/rootcacertpublisher`).

- `serviceaccounts`: `ServiceAccountController` keeps a `default` ServiceAccount in every
  active namespace.
- `publisher`: `RootCACertPublisher` keeps the `kube-root-ca.crt` ConfigMap (key `ca.crt`) in
  every namespace, from the controller option `root_ca_pem`.

May import: `kubelite.controllers.base`, `kubelite.controllers.util`, `kubelite.client`,
`kubelite.api`, `kubelite.machinery`.
"""

from .publisher import DESCRIPTION, DESCRIPTION_ANNOTATION, ROOT_CA_CONFIGMAP, RootCACertPublisher
from .serviceaccounts import ServiceAccountController

__all__ = ["DESCRIPTION", "DESCRIPTION_ANNOTATION", "ROOT_CA_CONFIGMAP", "RootCACertPublisher",
           "ServiceAccountController"]
