"""The garbage collector: cascading deletion through ownerReferences (Kubernetes'
`pkg/controller/garbagecollector`).

- `graph`: the owner/dependent graph built from informer events (`GraphBuilder`, `Node`).
- `collector`: `GarbageCollector`, the workers that delete dependents of vanished owners and
  carry out the Foreground and Orphan propagation policies.

May import: `kubelite.controllers.base`, `kubelite.client`, `kubelite.api`, `kubelite.machinery`.
"""

from .collector import GarbageCollector, deletable_resources
from .graph import GraphBuilder, Node, ObjectReference

__all__ = ["GarbageCollector", "GraphBuilder", "Node", "ObjectReference", "deletable_resources"]
