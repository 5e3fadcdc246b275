"""The in-tree plugins, one module each, and Kubernetes' default profile.

`default_plugins(rng=...)` lists the plugin factories in the default profile's order (the order
filters run in decides which reason a node reports); `DEFAULT_WEIGHTS` are the default score
weights. Nothing registers itself on import: the scheduler wires the profile explicitly.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any, Callable

from .default_preemption import DefaultPreemption
from .image_locality import ImageLocality
from .inter_pod_affinity import InterPodAffinity
from .names import (
    DEFAULT_PREEMPTION,
    IMAGE_LOCALITY,
    INTER_POD_AFFINITY,
    NODE_AFFINITY,
    NODE_NAME,
    NODE_PORTS,
    NODE_RESOURCES_BALANCED_ALLOCATION,
    NODE_RESOURCES_FIT,
    NODE_UNSCHEDULABLE,
    POD_TOPOLOGY_SPREAD,
    TAINT_TOLERATION,
)
from .node_affinity import NodeAffinity
from .node_name import NodeName
from .node_ports import NodePorts
from .node_resources_balanced_allocation import NodeResourcesBalancedAllocation
from .node_resources_fit import NodeResourcesFit
from .node_unschedulable import NodeUnschedulable
from .pod_topology_spread import PodTopologySpread
from .taint_toleration import TaintToleration

DEFAULT_WEIGHTS = {
    TAINT_TOLERATION: 3,
    NODE_AFFINITY: 2,
    NODE_RESOURCES_FIT: 1,
    POD_TOPOLOGY_SPREAD: 2,
    INTER_POD_AFFINITY: 2,
    NODE_RESOURCES_BALANCED_ALLOCATION: 1,
    IMAGE_LOCALITY: 1,
}

REGISTRY: dict[str, Callable[..., Any]] = {
    NODE_UNSCHEDULABLE: NodeUnschedulable,
    NODE_NAME: NodeName,
    TAINT_TOLERATION: TaintToleration,
    NODE_AFFINITY: NodeAffinity,
    NODE_PORTS: NodePorts,
    NODE_RESOURCES_FIT: NodeResourcesFit,
    POD_TOPOLOGY_SPREAD: PodTopologySpread,
    INTER_POD_AFFINITY: InterPodAffinity,
    DEFAULT_PREEMPTION: DefaultPreemption,
    NODE_RESOURCES_BALANCED_ALLOCATION: NodeResourcesBalancedAllocation,
    IMAGE_LOCALITY: ImageLocality,
}

DEFAULT_ORDER = (NODE_UNSCHEDULABLE, NODE_NAME, TAINT_TOLERATION, NODE_AFFINITY, NODE_PORTS, NODE_RESOURCES_FIT,
                 POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY, DEFAULT_PREEMPTION, NODE_RESOURCES_BALANCED_ALLOCATION,
                 IMAGE_LOCALITY)


def default_plugins(*, rng: random.Random | None = None, disabled: tuple[str, ...] = ()) -> list[Callable[..., Any]]:
    """The default profile's plugin factories, in order (minus `disabled`)."""
    out: list[Callable[..., Any]] = []
    for name in DEFAULT_ORDER:
        if name in disabled:
            continue
        factory = REGISTRY[name]
        if name == DEFAULT_PREEMPTION:
            factory = partial(DefaultPreemption, rng=rng)
        out.append(factory)
    return out


__all__ = [
    "DEFAULT_ORDER", "DEFAULT_WEIGHTS", "REGISTRY", "DefaultPreemption", "ImageLocality", "InterPodAffinity",
    "NodeAffinity", "NodeName", "NodePorts", "NodeResourcesBalancedAllocation", "NodeResourcesFit",
    "NodeUnschedulable", "PodTopologySpread", "TaintToleration", "default_plugins",
]
