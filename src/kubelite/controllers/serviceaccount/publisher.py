"""`RootCACertPublisher`: the `kube-root-ca.crt` ConfigMap in every namespace, so pods can
verify the API server. The CA bundle (PEM) comes from the controller option `root_ca_pem`;
without it the publisher does nothing."""

from __future__ import annotations

import copy
import logging

from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found

from ..base import Controller, ControllerContext
from ..util.ownerrefs import is_namespace_terminating

log = logging.getLogger(__name__)

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
CA_KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        pem = ctx.option("root_ca_pem", None)
        self.root_ca: str | None = pem.decode() if isinstance(pem, bytes) else pem
        self.ns_informer = ctx.informers.informer_for("namespaces")
        self.cm_informer = ctx.informers.informer_for("configmaps")
        self.ns_lister = self.ns_informer.lister()
        self.cm_lister = self.cm_informer.lister()
        self.ns_informer.add_event_handler(self.namespace_added, lambda old, new: self.namespace_added(new))
        self.cm_informer.add_event_handler(on_update=self.config_map_updated, on_delete=self.config_map_deleted)

    def namespace_added(self, ns: dict) -> None:
        self.queue.add(ns["metadata"]["name"])

    def config_map_updated(self, old: dict, cur: dict) -> None:
        if cur["metadata"].get("name") == ROOT_CA_CONFIGMAP and self.root_ca is not None and \
                cur.get("data") != {CA_KEY: self.root_ca}:
            self.queue.add(cur["metadata"].get("namespace", ""))

    def config_map_deleted(self, cm: dict) -> None:
        if cm["metadata"].get("name") == ROOT_CA_CONFIGMAP:
            self.queue.add(cm["metadata"].get("namespace", ""))

    async def sync(self, key: str) -> None:
        await self.sync_namespace(key)

    async def sync_namespace(self, name: str) -> None:
        if self.root_ca is None:
            return
        try:
            ns = self.ns_lister.get(name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if ns["metadata"].get("deletionTimestamp"):
            return
        data = {CA_KEY: self.root_ca}
        try:
            cm = self.cm_lister.get(ROOT_CA_CONFIGMAP, name)
        except StatusError as e:
            if not is_not_found(e):
                raise
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": name,
                                 "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                    "data": data}
            try:
                await self.client.create("configmaps", body, name)
            except StatusError as e:
                if not (is_already_exists(e) or is_namespace_terminating(e)):
                    raise
            return
        annotations = cm["metadata"].get("annotations") or {}
        if cm.get("data") == data and annotations.get(DESCRIPTION_ANNOTATION):
            return
        cm = copy.deepcopy(cm)
        cm["data"] = data
        cm["metadata"]["annotations"] = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
        await self.client.update("configmaps", cm)
