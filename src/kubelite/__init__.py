"""kubelite: Kubernetes and a local Amazon EKS in Python, running real containers on Linux."""

__version__ = "0.1.0"
KUBERNETES_VERSION = "v1.32.4"
