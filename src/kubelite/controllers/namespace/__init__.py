"""The namespace controller: empties a namespace being deleted, then lets it go (Kubernetes'
`pkg/controller/namespace`).

- `controller`: `NamespaceController` (queues namespaces with a deletionTimestamp).
- `deleter`: `NamespacedResourcesDeleter` (delete every namespaced resource, report
  conditions, remove the `kubernetes` finalizer through `namespaces/<name>/finalize`).

May import: `kubelite.controllers.base`, `kubelite.client`, `kubelite.api`, `kubelite.machinery`.
"""

from .controller import NamespaceController
from .deleter import NamespacedResourcesDeleter, ResourcesRemainingError, deletable_namespaced_resources

__all__ = ["NamespaceController", "NamespacedResourcesDeleter", "ResourcesRemainingError",
           "deletable_namespaced_resources"]
