"""The control plane as one process (k3s-style `server`): datastore, API server, controllers,
scheduler and, unless told otherwise, a node agent for this host.

- `config`: `ServerConfig`, the options of `kubelite server`.
- `bootstrap`: the data dir: cluster CA, serving certificate, admin identity, kubeconfig.
- `run`: start everything in one TaskGroup and serve until cancelled.
- `ha`: several API servers on one etcd: the cluster material they share, and opening a
  datastore that may not answer yet.
- `process`: `run_async`, how a kubelite process runs its main coroutine (event loop, signals).

May import everything below `cli`.
"""
