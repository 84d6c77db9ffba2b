"""The allow-list resolution behind the common role's nftables rules."""

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.firewall import address_in_networks, firewall_rules, normalize_port, split_networks

pytestmark = pytest.mark.unit

GROUPS = {
    "all": ["kafka-1", "kafka-2", "connect-1", "mon-1"],
    "kafka": ["kafka-1", "kafka-2"],
    "kafka_connect": ["connect-1"],
    "monitoring": ["mon-1"],
}
HOSTVARS = {
    "kafka-1": {"cdc_address": "10.0.0.21"},
    "kafka-2": {"cdc_address": "10.0.0.22"},
    "connect-1": {"cdc_address": "10.0.0.31"},
    # no cdc_address: falls back to the gathered default IPv4 address
    "mon-1": {"ansible_default_ipv4": {"address": "10.0.0.61"}},
}
RULES = {
    "all": [{"name": "node-exporter", "port": 9100, "from_groups": ["monitoring"]}],
    "kafka": [
        {"name": "kafka-clients", "port": 9092, "from_groups": ["kafka_connect"], "from_admin": True},
        {"name": "kafka-controller", "port": 9094, "from_groups": ["kafka"]},
    ],
    "kafka_connect": [{"name": "connect-rest", "port": 8083, "from_groups": ["kafka_connect"]}],
}


def by_name(rules):
    return {rule["name"]: rule for rule in rules}


def test_host_gets_rules_of_its_groups_only():
    rules = by_name(firewall_rules(RULES, ["kafka"], GROUPS, HOSTVARS, ["192.0.2.0/24"]))
    assert set(rules) == {"node-exporter", "kafka-clients", "kafka-controller"}
    assert rules["kafka-clients"]["v4"] == ["10.0.0.31", "192.0.2.0/24"]
    assert rules["kafka-controller"]["v4"] == ["10.0.0.21", "10.0.0.22"]
    assert rules["node-exporter"]["v4"] == ["10.0.0.61"]


def test_host_in_no_service_group_opens_only_common_ports():
    rules = firewall_rules(RULES, ["monitoring"], GROUPS, HOSTVARS, [])
    assert [rule["name"] for rule in rules] == ["node-exporter"]


def test_ipv6_sources_are_split_and_single_addresses_print_bare():
    v4, v6 = split_networks(["2001:db8::1", "10.1.0.0/16", "10.1.2.3/32", "2001:db8:1::/48"], "r")
    assert v4 == ["10.1.0.0/16", "10.1.2.3"]
    assert v6 == ["2001:db8::1", "2001:db8:1::/48"]


def test_group_missing_from_inventory_leaves_rule_closed():
    rules = {"kafka": [{"name": "from-nowhere", "port": 1234, "from_groups": ["no_such_group"]}]}
    resolved = firewall_rules(rules, ["kafka"], GROUPS, HOSTVARS, [])
    assert resolved[0]["v4"] == [] and resolved[0]["v6"] == []


@pytest.mark.parametrize(("port", "expected"), [(9092, "9092"), ("9000-9010", "9000-9010"), (" 22 ", "22")])
def test_ports_normalize(port, expected):
    assert normalize_port(port, "r") == expected


@pytest.mark.parametrize("port", [0, 70000, "10-5", "ssh", "1-2-3"])
def test_bad_ports_are_refused(port):
    with pytest.raises(AnsibleFilterError, match="port"):
        normalize_port(port, "r")


def test_extra_rule_without_reason_is_refused():
    extra = [{"name": "backup", "port": 7480, "from_cidrs": ["192.0.2.8/29"]}]
    with pytest.raises(AnsibleFilterError, match="reason"):
        firewall_rules(RULES, ["kafka"], GROUPS, HOSTVARS, [], extra)


def test_extra_rule_with_reason_is_added():
    extra = [{"name": "backup", "port": 7480, "from_cidrs": ["192.0.2.8/29"], "reason": "CHG-42"}]
    rules = by_name(firewall_rules(RULES, ["kafka"], GROUPS, HOSTVARS, [], extra))
    assert rules["backup"]["v4"] == ["192.0.2.8/29"]


def test_host_without_address_fails_with_the_fix():
    hostvars = dict(HOSTVARS, **{"connect-1": {}})
    with pytest.raises(AnsibleFilterError, match="set cdc_address"):
        firewall_rules(RULES, ["kafka"], GROUPS, hostvars, [])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "port": 1, "proto": "sctp"}, "proto"),
        ({"name": "x"}, "no port"),
        ({"port": 1}, "needs a name"),
        ({"name": "x", "port": 1, "from_group": ["kafka"]}, "unknown keys"),
        ({"name": "x", "port": 1, "from_cidrs": ["10.0.0.300"]}, "not an IP"),
    ],
)
def test_malformed_rules_are_refused(rule, message):
    with pytest.raises(AnsibleFilterError, match=message):
        firewall_rules({"kafka": [rule]}, ["kafka"], GROUPS, HOSTVARS, [])


def test_duplicate_rule_names_are_refused():
    rules = {"kafka": [{"name": "dup", "port": 1}, {"name": "dup", "port": 2}]}
    with pytest.raises(AnsibleFilterError, match="used twice"):
        firewall_rules(rules, ["kafka"], GROUPS, HOSTVARS, [])


@pytest.mark.parametrize(
    ("address", "networks", "inside"),
    [
        ("10.213.40.1", ["10.213.40.1/32"], True),
        ("10.213.40.7", ["192.0.2.0/24", "10.213.40.0/28"], True),
        ("10.213.40.77", ["10.213.40.0/28"], False),
        ("2001:db8::5", ["2001:db8::/64"], True),
        ("10.0.0.1", [], False),
    ],
)
def test_controller_address_in_admin_ranges(address, networks, inside):
    assert address_in_networks(address, networks) is inside


def test_address_check_refuses_garbage():
    with pytest.raises(AnsibleFilterError, match="not an IP address"):
        address_in_networks("bastion", ["10.0.0.0/8"])
