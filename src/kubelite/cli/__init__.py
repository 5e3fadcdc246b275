"""The `kubelite` command: server, agent, cloud, build, push, pull, images, registry, kubeconfig.

Each area keeps its commands in its own module here (`cli/server.py`, `cli/images.py`, ...) and
`cli/main.py` adds them to the top-level group. Commands only parse arguments and wire
components together; the work happens in the component packages.
"""
