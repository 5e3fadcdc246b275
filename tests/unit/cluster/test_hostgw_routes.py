from kubelite.cluster.routes import desired_routes, node_ip, pod_cidr_table, route_changes

BLOCK = "198.19.0.0/20"


def node(name, ip=None, cidr=None, deleting=False):
    n = {"metadata": {"name": name}, "spec": {}, "status": {}}
    if ip:
        n["status"]["addresses"] = [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]
    if cidr:
        n["spec"] = {"podCIDR": cidr, "podCIDRs": [cidr]}
    if deleting:
        n["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return n


NODES = [node("n1", "198.18.0.11", "198.19.0.0/24"), node("n2", "198.18.0.12", "198.19.1.0/24"),
         node("n3", "198.18.0.13", "198.19.2.0/24"),
         node("pending", "198.18.0.14"),                         # no pod CIDR yet
         node("outside", "198.18.0.15", "198.19.64.0/24"),       # another cluster's block
         node("gone", "198.18.0.16", "198.19.3.0/24", deleting=True)]


def test_table_and_routes_per_node():
    table = pod_cidr_table(NODES, BLOCK)
    assert table == {"198.19.0.0/24": ("n1", "198.18.0.11"), "198.19.1.0/24": ("n2", "198.18.0.12"),
                     "198.19.2.0/24": ("n3", "198.18.0.13")}
    assert desired_routes(table, "n1") == {"198.19.1.0/24": "198.18.0.12", "198.19.2.0/24": "198.18.0.13"}
    assert desired_routes(table, None) == {c: ip for c, (_, ip) in table.items()}  # the host: every node
    assert node_ip(NODES[0]) == "198.18.0.11" and node_ip(node("x")) == ""


def test_route_changes():
    current = {"198.19.1.0/24": "198.18.0.12", "198.19.2.0/24": "198.18.0.99", "198.19.5.0/24": "198.18.0.15"}
    desired = {"198.19.1.0/24": "198.18.0.12", "198.19.2.0/24": "198.18.0.13", "198.19.3.0/24": "198.18.0.14"}
    put, drop = route_changes(current, desired)
    assert put == {"198.19.2.0/24": "198.18.0.13", "198.19.3.0/24": "198.18.0.14"}
    assert drop == ["198.19.5.0/24"]
    assert route_changes(desired, desired) == ({}, [])
