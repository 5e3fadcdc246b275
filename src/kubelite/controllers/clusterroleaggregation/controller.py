"""`ClusterRoleAggregationController`: the `rules` of a ClusterRole with an `aggregationRule` are
the rules of every other ClusterRole its `clusterRoleSelectors` match (in name order, each rule
once). Any ClusterRole change queues every aggregated ClusterRole.
"""

from __future__ import annotations

import copy
import logging

from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery import labels
from kubelite.machinery.errors import StatusError, is_not_found

log = logging.getLogger(__name__)

CLUSTER_ROLES = "clusterroles.rbac.authorization.k8s.io"


def aggregated_rules(role: dict, roles: list[dict]) -> list[dict]:
    rules: list[dict] = []
    for ls in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        try:
            selector = labels.selector_from_label_selector(ls)
        except labels.SelectorError:
            continue
        for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
            if other["metadata"]["name"] == role["metadata"]["name"]:
                continue
            if not selector.matches(other["metadata"].get("labels")):
                continue
            for rule in other.get("rules") or []:
                if rule not in rules:
                    rules.append(copy.deepcopy(rule))
    return rules


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.roles = ctx.informers.informer_for(CLUSTER_ROLES)
        self.role_lister = self.roles.lister()
        self.roles.add_event_handler(self.enqueue_all, lambda old, new: self.enqueue_all(new), self.enqueue_all)

    def enqueue_all(self, _: dict) -> None:
        for role in self.role_lister.list():
            if role.get("aggregationRule"):
                self.enqueue(role)

    async def sync(self, key: str) -> None:
        await self.sync_cluster_role(key)

    async def sync_cluster_role(self, name: str) -> None:
        try:
            role = self.role_lister.get(name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if not role.get("aggregationRule"):
            return
        rules = aggregated_rules(role, self.role_lister.list())
        if rules == (role.get("rules") or []):
            return
        await self.client.update(CLUSTER_ROLES, {**copy.deepcopy(role), "rules": rules})
