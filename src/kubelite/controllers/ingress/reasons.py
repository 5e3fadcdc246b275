"""Event reasons of the Ingress controller (CamelCase, as Kubernetes controllers name them)."""

SYNC = "Sync"                                   # Normal: the Ingress is (re)programmed into the load balancer
SERVICE_NOT_FOUND = "ServiceNotFound"           # Warning: a backend Service does not exist (503 served)
SERVICE_PORT_NOT_FOUND = "ServicePortNotFound"  # Warning: the Service has no such port (503 served)
UNSUPPORTED_BACKEND = "UnsupportedBackend"      # Warning: resource or ExternalName backends (503 served)
SECRET_NOT_FOUND = "SecretNotFound"             # Warning: a TLS Secret does not exist (hosts without TLS)
INVALID_CERTIFICATE = "InvalidCertificate"      # Warning: a TLS Secret is unusable or expired
LOAD_BALANCER_FAILED = "LoadBalancerFailed"     # Warning: the load balancer refused the configuration
