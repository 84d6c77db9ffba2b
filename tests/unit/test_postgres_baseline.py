"""The pure checks of tests/tools/postgres_baseline.py (dev-sec postgres-baseline controls)."""

import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from postgres_baseline import (  # noqa: E402
    check_ciphers,
    check_hba,
    check_log_line_prefix,
    count_peer_lines,
    hba_method,
    mode_is_private,
    parse_hba,
    privileged_roles_verdict,
)

pytestmark = pytest.mark.unit

ROLE_HBA = """
# comment
local   all  postgres  peer map=admin
local   all  postgres_exporter peer map=exporter
local   all  all  scram-sha-256
hostssl all  all  127.0.0.1/32  scram-sha-256
hostssl cdc  cdc_sink,+cdc_reporting 10.0.0.5/32 scram-sha-256
hostnossl all all 0.0.0.0/0 reject
"""


def test_the_role_hba_passes():
    rules = parse_hba(ROLE_HBA)
    assert len(rules) == 6
    ok, detail = check_hba(rules)
    assert ok, detail
    assert count_peer_lines(rules) == 2


@pytest.mark.parametrize(
    "line",
    [
        "local all all trust",
        "host all all 10.0.0.0/8 scram-sha-256",  # TCP without TLS
        "hostssl all all 10.0.0.0/8 md5",
        "hostssl all all 10.0.0.0/8 password",
        "hostssl all all 10.0.0.0 255.0.0.0 trust",  # address and netmask in two fields
        "hostnossl all all 0.0.0.0/0 scram-sha-256",
        "local all all ident",
    ],
)
def test_weak_lines_fail(line):
    ok, detail = check_hba(parse_hba(ROLE_HBA + line + "\n"))
    assert not ok
    assert line.split()[0] in detail


def test_method_with_separate_netmask():
    assert hba_method("hostssl all all 10.0.0.0 255.0.0.0 scram-sha-256".split()) == "scram-sha-256"


def test_three_peer_lines_are_counted():
    assert count_peer_lines(parse_hba(ROLE_HBA + "local all other peer\n")) == 3


@pytest.mark.parametrize(
    ("ciphers", "ok"),
    [
        ("HIGH:!aNULL:!ADH:!LOW:!EXP:!MD5:!3DES:!RC4", True),
        ("ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH", True),  # the baseline's own string
        ("HIGH:!aNULL", True),
        ("HIGH", False),  # aNULL suites not excluded
        ("ALL:!ADH:!LOW:!EXP", False),  # MD5 allowed
        ("DEFAULT", False),
    ],
)
def test_ciphers(ciphers, ok):
    assert check_ciphers(ciphers)[0] is ok


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [("%m [%p] %q%u@%d %h %a ", True), ("%t %u %d %h", True), ("%m [%p] ", False), ("%t %u %d %r", True)],
)
def test_log_line_prefix(prefix, ok):
    assert check_log_line_prefix(prefix)[0] is ok


def test_privileged_roles():
    waiver = {"vault_admin": "rotates passwords"}
    assert privileged_roles_verdict(["postgres"], waiver).status == "pass"
    assert privileged_roles_verdict(["postgres", "vault_admin"], waiver).status == "waived"
    assert privileged_roles_verdict(["postgres", "vault_admin", "app"], waiver).status == "fail"
    assert privileged_roles_verdict(["postgres", "vault_admin"], {}).status == "fail"


def test_private_modes():
    assert mode_is_private(stat.S_IFDIR | 0o700, directory=True)
    assert mode_is_private(stat.S_IFREG | 0o600, directory=False)
    assert not mode_is_private(stat.S_IFDIR | 0o750, directory=True)
    assert not mode_is_private(stat.S_IFREG | 0o644, directory=False)
