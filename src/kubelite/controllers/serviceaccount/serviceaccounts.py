"""`ServiceAccountController`: every active namespace has the ServiceAccounts it should
(`default`; controller option `service_accounts` to change the list), re-created when deleted."""

from __future__ import annotations

import logging

from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found

from ..base import Controller, ControllerContext
from ..util.ownerrefs import is_namespace_terminating

log = logging.getLogger(__name__)


class ServiceAccountController(Controller):
    name = "serviceaccount-controller"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.service_accounts = list(ctx.option("service_accounts", ["default"]))
        self.ns_informer = ctx.informers.informer_for("namespaces")
        self.sa_informer = ctx.informers.informer_for("serviceaccounts")
        self.ns_lister = self.ns_informer.lister()
        self.sa_lister = self.sa_informer.lister()
        self.ns_informer.add_event_handler(self.namespace_added, lambda old, new: self.namespace_added(new))
        self.sa_informer.add_event_handler(on_delete=self.service_account_deleted)

    def namespace_added(self, ns: dict) -> None:
        self.queue.add(ns["metadata"]["name"])

    def service_account_deleted(self, sa: dict) -> None:
        if sa["metadata"].get("name") in self.service_accounts:
            self.queue.add(sa["metadata"].get("namespace", ""))

    async def sync(self, key: str) -> None:
        await self.sync_namespace(key)

    async def sync_namespace(self, name: str) -> None:
        try:
            ns = self.ns_lister.get(name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if (ns.get("status") or {}).get("phase", "Active") != "Active" or ns["metadata"].get("deletionTimestamp"):
            return
        failures: list[StatusError] = []
        for sa in self.service_accounts:
            try:
                self.sa_lister.get(sa, name)
                continue
            except StatusError as e:
                if not is_not_found(e):
                    raise
            body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": name}}
            try:
                await self.client.create("serviceaccounts", body, name)
            except StatusError as e:
                if is_already_exists(e) or is_namespace_terminating(e):
                    continue
                failures.append(e)
        if failures:
            raise failures[0]
