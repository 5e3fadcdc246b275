"""Pod volumes on the node (Kubernetes' volume manager and its plugins, for the kinds that need
no storage system): emptyDir (disk, or tmpfs for `medium: Memory` with `sizeLimit`), configMap,
secret, downwardAPI, projected (configMap, secret, downwardAPI, serviceAccountToken) and hostPath
(with its type checks).

- `manager`: `VolumeManager.mount(pod)` sets every volume up under
  `<root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>` (idempotent; re-run on each sync so
  ConfigMap, Secret and token contents stay current) and `unmount(uid)` removes them all.
- `payloads`: what files a configMap/secret/downwardAPI/projected volume holds (async: reads
  objects and requests tokens through injected sources).
- `atomic_writer`: Kubernetes' `..data` symlink swap, so a container never sees half an update.
- `hostpath`: the hostPath type checks. `mount`: mount(2)/umount2(2) through libc.

May import: `kubelite.kubelet` pure helpers (`env`, `objects`), `kubelite.machinery`.
"""
