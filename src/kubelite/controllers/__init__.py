"""Controllers: one package per loop, named as Kubernetes names them (`replicaset`, `deployment`,
`namespace`, `garbagecollector`, `endpointslice`, `nodelifecycle`, ...).

Every controller is level-triggered: informer handlers only enqueue `namespace/name` keys; workers
take a key, read the current state from the listers, and make the world match (`sync(key)`),
raising to be retried with backoff. The shared loop is in `base.py`; which controllers run is
decided by `kubelite.controller_manager`. Controllers never import each other.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`; the Ingress controller also
`kubelite.lb` (it runs the load balancer data plane in the controller manager's process).
"""
