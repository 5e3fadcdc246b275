import asyncio

from kubelite.controllers.clusterroleaggregation import ClusterRoleAggregationController

ROLES = "clusterroles.rbac.authorization.k8s.io"


def role(name, labels=None, rules=None, selectors=None):
    r = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": name, "labels": labels or {}}, "rules": rules or []}
    if selectors is not None:
        r["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return r


READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
READ_CRDS = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}


def test_rules_are_aggregated_in_name_order_without_duplicates(harness):
    async def main():
        async with harness(ClusterRoleAggregationController) as h:
            await h.create(ROLES, role("view", selectors=[{"matchLabels": {"agg/view": "true"}}]))
            await h.create(ROLES, role("b-widgets", {"agg/view": "true"}, [READ_CRDS, READ_PODS]))
            await h.create(ROLES, role("a-pods", {"agg/view": "true"}, [READ_PODS]))
            await h.create(ROLES, role("other", {}, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]))
            assert "view" in h.queued()
            await h.sync("view")
            assert h.get(ROLES, "view")["rules"] == [READ_PODS, READ_CRDS]
            rv = h.get(ROLES, "view")["metadata"]["resourceVersion"]
            await h.sync("view")
            assert h.get(ROLES, "view")["metadata"]["resourceVersion"] == rv
            await h.delete(ROLES, "b-widgets")
            await h.sync("view")
            assert h.get(ROLES, "view")["rules"] == [READ_PODS]

    asyncio.run(main())
