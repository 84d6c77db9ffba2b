# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn per-group port declarations into concrete allow-list rules for nftables.

The common role declares, per inventory group, which ports a host of that group opens and
which groups or address ranges may reach them. This filter resolves the groups to
addresses for one host, so the nftables template only has to print the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError

PROTOCOLS = ("tcp", "udp")


def _fail(msg):
    raise AnsibleFilterError("firewall_rules: " + msg)


def normalize_port(port, rule_name):
    """Return the port as nftables accepts it: '9092' or '9000-9010'."""
    text = str(port).strip()
    bounds = text.split("-", 1)
    try:
        numbers = [int(b) for b in bounds]
    except ValueError:
        _fail("rule %r: port %r is not a number or a range like 9000-9010" % (rule_name, port))
    if any(n < 1 or n > 65535 for n in numbers) or (len(numbers) == 2 and numbers[0] >= numbers[1]):
        _fail("rule %r: port %r is outside 1-65535 or not an ascending range" % (rule_name, port))
    return "-".join(str(n) for n in numbers)


def host_address(hostvars, host):
    """The address other hosts see: cdc_address from the inventory, else the default IPv4 fact."""
    host_vars = hostvars[host]
    address = host_vars.get("cdc_address")
    if not address:
        address = (host_vars.get("ansible_default_ipv4") or {}).get("address")
    if not address:
        _fail(
            "host %r has no cdc_address in the inventory and no gathered facts; "
            "set cdc_address for it (or gather facts on all hosts first)" % host
        )
    return str(address)


def _render(networks):
    # Single addresses print bare (10.0.0.5), ranges as CIDR (10.0.0.0/24).
    return [str(n.network_address) if n.num_addresses == 1 else str(n) for n in sorted(networks)]


def split_networks(addresses, rule_name):
    """Validate and split addresses/CIDRs into sorted, de-duplicated IPv4 and IPv6 lists."""
    v4, v6 = set(), set()
    for raw in addresses:
        try:
            network = ipaddress.ip_network(str(raw).strip(), strict=False)
        except ValueError:
            _fail("rule %r: %r is not an IP address or CIDR range" % (rule_name, raw))
        (v4 if network.version == 4 else v6).add(network)
    return _render(v4), _render(v6)


def _sources(rule, inventory_groups, hostvars, admin_cidrs):
    name = rule["name"]
    addresses = []
    for group in rule.get("from_groups") or []:
        if group not in inventory_groups:
            # A group the inventory does not define has no members; say so rather than guess.
            continue
        addresses.extend(host_address(hostvars, h) for h in inventory_groups[group])
    addresses.extend(rule.get("from_cidrs") or [])
    if rule.get("from_admin"):
        addresses.extend(admin_cidrs or [])
    return split_networks(addresses, name)


def _check_rule(rule, require_reason):
    if not isinstance(rule, dict) or not rule.get("name"):
        _fail("every rule needs a name, got %r" % (rule,))
    if "port" not in rule:
        _fail("rule %r has no port" % rule["name"])
    proto = rule.get("proto", "tcp")
    if proto not in PROTOCOLS:
        _fail("rule %r: proto must be one of %s, got %r" % (rule["name"], ", ".join(PROTOCOLS), proto))
    if require_reason and not rule.get("reason"):
        _fail("extra rule %r must carry a 'reason' saying why the port is opened" % rule["name"])
    unknown = set(rule) - {"name", "port", "proto", "from_groups", "from_cidrs", "from_admin", "reason"}
    if unknown:
        _fail("rule %r has unknown keys: %s" % (rule["name"], ", ".join(sorted(unknown))))
    return proto


def firewall_rules(group_rules, host_groups, inventory_groups, hostvars, admin_cidrs=None, extra_rules=None):
    """Resolve the rules of the groups this host is in, plus extra rules, to address lists.

    Rules whose sources resolve to nothing are kept with empty lists so the template can
    show them as closed, which makes an empty source group visible in the rendered file.
    """
    selected = []
    for group in ["all"] + sorted(set(host_groups or [])):
        for rule in (group_rules or {}).get(group) or []:
            selected.append((rule, False))
    for rule in extra_rules or []:
        selected.append((rule, True))

    resolved, seen = [], set()
    for rule, is_extra in selected:
        proto = _check_rule(rule, require_reason=is_extra)
        if rule["name"] in seen:
            _fail("rule name %r is used twice for this host; names must be unique" % rule["name"])
        seen.add(rule["name"])
        v4, v6 = _sources(rule, inventory_groups, hostvars, admin_cidrs)
        resolved.append(
            {
                "name": rule["name"],
                "proto": proto,
                "port": normalize_port(rule["port"], rule["name"]),
                "v4": v4,
                "v6": v6,
                "reason": rule.get("reason", ""),
            }
        )
    return resolved


def address_in_networks(address, networks):
    """True when the address lies in one of the networks (CIDRs or single addresses)."""
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        _fail("%r is not an IP address" % (address,))
    for raw in networks or []:
        try:
            if ip in ipaddress.ip_network(str(raw).strip(), strict=False):
                return True
        except ValueError:
            _fail("%r is not an IP address or CIDR range" % (raw,))
    return False


def host_addresses(hosts, hostvars):
    """The addresses other hosts see for a list of inventory hosts (see host_address)."""
    return [host_address(hostvars, host) for host in hosts]


class FilterModule(object):
    def filters(self):
        return {
            "firewall_rules": firewall_rules,
            "address_in_networks": address_in_networks,
            "host_addresses": host_addresses,
        }
