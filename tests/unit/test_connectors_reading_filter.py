"""The connectors_reading filter: which connectors read a given file through DirectoryConfigProvider."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.cdc.pipeline.plugins.filter.secrets import connectors_reading

SINK = {
    "name": "postgres-sink",
    "config": {"connection.password": "${directory:/run/cdc-secrets/connect:sink-password}"},
}
SOURCE = {
    "name": "scylla-source",
    "config": {"scylla.password": "${directory:/run/cdc-secrets/connect/:scylla-password}"},
}


def test_only_the_connectors_that_refer_to_a_file():
    assert connectors_reading([SOURCE, SINK], ["/run/cdc-secrets/connect/sink-password"]) == ["postgres-sink"]


def test_paths_compare_normalised_and_several_files():
    files = ["/run/cdc-secrets/connect//scylla-password", "/run/cdc-secrets/connect/sink-password"]
    assert connectors_reading([SINK, SOURCE], files) == ["postgres-sink", "scylla-source"]


def test_a_value_that_only_mentions_the_name_is_no_reference():
    mentions = {"name": "other", "config": {"note": "sink-password", "file": "/run/cdc-secrets/connect/sink-password"}}
    assert connectors_reading([mentions, {"name": "bare"}], ["/run/cdc-secrets/connect/sink-password"]) == []


def test_a_reference_inside_a_longer_value_counts():
    jaas = {"name": "jaas", "config": {"x": "user=a password=${directory:/run/s:kafka-password};"}}
    assert connectors_reading([jaas], ["/run/s/kafka-password"]) == ["jaas"]


def test_not_a_list_is_refused():
    with pytest.raises(AnsibleFilterError):
        connectors_reading({"name": "x"}, [])
