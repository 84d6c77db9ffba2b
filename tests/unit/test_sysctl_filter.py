"""Sysctl drift detection and apply order for the common role."""

import pytest

from plugins.filter.sysctl import parse_sysctl_output, sysctl_drift, sysctl_ordered

pytestmark = pytest.mark.unit


def test_parse_handles_tabs_in_multi_value_keys():
    parsed = parse_sysctl_output(["net.ipv4.tcp_rmem = 4096\t131072\t6291456", "vm.swappiness = 60"])
    assert parsed == {"net.ipv4.tcp_rmem": "4096 131072 6291456", "vm.swappiness": "60"}


def test_only_differing_keys_drift():
    current = ["vm.swappiness = 1", "net.ipv4.tcp_syncookies = 0", "net.ipv4.tcp_rmem = 4096\t131072\t6291456"]
    wanted = {"vm.swappiness": 1, "net.ipv4.tcp_syncookies": 1, "net.ipv4.tcp_rmem": "4096 131072 6291456"}
    assert sysctl_drift(wanted, current) == ["net.ipv4.tcp_syncookies=1"]


def test_key_the_kernel_lacks_is_not_written():
    # `sysctl -e` omits keys the kernel does not have (IPv6 disabled): writing them would fail.
    current = ["vm.max_map_count = 65530"]
    wanted = {"vm.max_map_count": 262144, "net.ipv6.conf.all.accept_redirects": 0}
    assert sysctl_drift(wanted, current) == ["vm.max_map_count=262144"]


def test_forwarding_is_applied_before_accept_redirects():
    # Writing ip_forward resets accept_redirects in the kernel: it has to come first.
    wanted = {"net.ipv4.conf.all.accept_redirects": 0, "net.ipv4.ip_forward": 0, "net.ipv6.conf.all.forwarding": 0}
    keys = [key for key, _value in sysctl_ordered(wanted)]
    assert keys == ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.accept_redirects"]
    current = [f"{key} = 1" for key in wanted]
    drift = sysctl_drift(wanted, current)
    assert drift[-1] == "net.ipv4.conf.all.accept_redirects=0"


def test_forwarding_change_rewrites_keys_it_resets():
    # accept_redirects is 0 now only because forwarding is on; turning forwarding off flips
    # it back to 1, so it must be written again even though it matches right now.
    current = ["net.ipv4.ip_forward = 1", "net.ipv4.conf.all.accept_redirects = 0"]
    wanted = {"net.ipv4.ip_forward": 0, "net.ipv4.conf.all.accept_redirects": 0}
    assert sysctl_drift(wanted, current) == ["net.ipv4.ip_forward=0", "net.ipv4.conf.all.accept_redirects=0"]
