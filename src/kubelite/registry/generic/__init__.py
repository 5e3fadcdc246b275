"""The generic store every resource uses (Kubernetes' `genericregistry.Store`), its strategy base
and the watch cache. Resource-specific strategies live beside this package in `kubelite.registry`.
"""
