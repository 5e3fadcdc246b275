"""Elastic Load Balancing for managed clusters, as the AWS Load Balancer Controller gives EKS users:
`type: LoadBalancer` Services become network load balancers (L4), `alb` Ingresses application
load balancers (L7: host/path routing, HTTPS, redirects), each a `kubelite.lb.LoadBalancer`
running in the service on an address of its own, with a DNS name that resolves on this machine.

- `names`: names, DNS names and ARNs (pure).
- `model`: `Desired` (the lb configuration plus its ELBv2 view), `Problem` (pure).
- `nlb`, `alb`: Services / Ingress groups → `Desired`, with the LBC's annotations (pure; `alb`
  reuses the Ingress rules of `kubelite.controllers.ingress.translate`).
- `fleet`: the running load balancers, their addresses and hosts-file names, their records.
- `controller`: `LoadBalancerController`, one per cluster (informers over the cluster's API).
- `service`: the ELBv2 Describe APIs.

May import: `kubelite.lb`, `kubelite.controllers.base`, `kubelite.controllers.ingress.translate`,
`kubelite.client`, `kubelite.machinery`, and the rest of `kubelite.cloud`.
"""
