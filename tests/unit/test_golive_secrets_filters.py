"""The go-live probe secret_rotation_age (plugins/filter/golive_secrets.py), from answers shaped as
community.hashi_vault's vault_read and vault_list return them against OpenBao."""

from __future__ import annotations

import calendar
import time

import pytest

from plugins.filter.golive_secrets import golive_secret_age_result, golive_secret_id_accessors

pytestmark = pytest.mark.unit

AT = "2027-01-15T09:30:00Z"
NOW = calendar.timegm(time.strptime("2027-01-15T09:30:00", "%Y-%m-%dT%H:%M:%S"))


def read(item, **data):
    return {"item": item, "data": {"data": data}}


def reads(
    static="2027-01-01T08:29:02.33387155Z", scram="2026-12-20T08:33:21.751901765Z", issued="2027-01-10T10:00:00Z"
):
    return {
        "static_roles": [read("pg-sink", last_vault_rotation=static)],
        "scram": [
            read(
                "connect",
                current_version=2,
                versions={"1": {"created_time": "2020-01-01T00:00:00Z"}, "2": {"created_time": scram}},
            )
        ],
        "secret_ids": [read({"role": "cdc-connect", "accessor": "a35e"}, creation_time=issued)],
    }


def test_recent_credentials_pass_and_are_counted():
    result = golive_secret_age_result(reads(), 90, NOW, AT)
    assert result["passed"], result["result"]
    assert result["result"] == (
        "1 AppRole secret ID(s), 1 Kafka SCRAM password(s), 1 database static role(s), every one younger than 90 days"
    )


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"static": "2026-09-01T00:00:00Z"}, "database static role pg-sink: 136.4 days old, the limit is 90"),
        # the current version counts, not the first
        ({"scram": "2026-10-01T00:00:00Z"}, "Kafka SCRAM password connect: 106.4 days old, the limit is 90"),
        ({"issued": "2026-10-10T00:00:00Z"}, "AppRole secret ID cdc-connect: 97.4 days old, the limit is 90"),
        ({"issued": "not a date"}, "AppRole secret ID cdc-connect: no date to judge"),
    ],
)
def test_an_old_or_undated_credential_fails_naming_it(changed, named):
    result = golive_secret_age_result(reads(**changed), 90, NOW, AT)
    assert not result["passed"]
    assert result["result"] == [named]


def test_an_empty_store_proves_nothing():
    result = golive_secret_age_result({"static_roles": [], "scram": [], "secret_ids": []}, 90, NOW, AT)
    assert not result["passed"]


def test_accessors_are_paired_with_their_role_and_a_role_without_any_yields_none():
    listings = [
        {"item": "cdc-connect", "data": {"data": {"keys": ["a1", "a2"]}}},
        {"item": "cdc-scylla", "failed": True, "msg": "404"},
    ]
    assert golive_secret_id_accessors(listings) == [
        {"role": "cdc-connect", "accessor": "a1"},
        {"role": "cdc-connect", "accessor": "a2"},
    ]
