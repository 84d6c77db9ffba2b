# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Cassandra node of the tests and of the lab's stand-in: one configuration, rendered for a playbook."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.tools import cassandra_node

pytestmark = pytest.mark.unit

ARGS = [
    "--lib=/opt/cdc-standin/cassandra-5.0.9/lib",
    "--jars=a.jar,jamm-0.4.0.jar,zstd.jar",
    "--conf=/etc/cdc-standin",
    "--data=/var/lib/cdc-standin",
    "--logs=/var/lib/cdc-standin/logs",
    "--address=10.213.43.11",
    "--native-port=9142",
    "--keystore=/etc/cdc-standin/node.pem",
    "--num-tokens=4",
    "--datacenter=lab1",
    "--rack=rack-1",
]


def test_the_rendered_node_speaks_tls_only_with_authentication_in_the_declared_datacenter():
    rendered = cassandra_node.render(ARGS)
    config = yaml.safe_load(rendered["cassandra_yaml"])
    assert config["native_transport_port"] == 9142
    assert config["client_encryption_options"]["enabled"] is True
    assert config["client_encryption_options"]["optional"] is False
    assert config["client_encryption_options"]["keystore"] == "/etc/cdc-standin/node.pem"
    assert config["authenticator"] == "PasswordAuthenticator"
    assert config["authorizer"] == "CassandraAuthorizer"
    assert config["num_tokens"] == 4 and "initial_token" not in config
    assert config["listen_address"] == config["rpc_address"] == "10.213.43.11"
    assert config["endpoint_snitch"] == "GossipingPropertyFileSnitch"
    assert rendered["rackdc_properties"] == "dc=lab1\nrack=rack-1\n"
    command = rendered["command"]
    assert command[0] == "java" and command[-1] == cassandra_node.MAIN_CLASS
    assert "-javaagent:/opt/cdc-standin/cassandra-5.0.9/lib/jamm-0.4.0.jar" in command
    assert "-Dcassandra.config=file:///etc/cdc-standin/cassandra.yaml" in command
    json.dumps(rendered)  # what the playbook reads


def test_one_token_at_zero_and_simple_snitch_without_a_datacenter(tmp_path):
    config = yaml.safe_load(cassandra_node.cassandra_yaml(tmp_path, "127.0.0.1", 19142, 17000, tmp_path / "k.pem"))
    assert config["num_tokens"] == 1 and config["initial_token"] == 0
    assert config["endpoint_snitch"] == "SimpleSnitch"


def test_a_lib_without_jamm_is_refused_with_what_to_check(capsys):
    assert cassandra_node.main(["render", *[a if not a.startswith("--jars") else "--jars=a.jar" for a in ARGS]]) == 1
    assert "no jamm-*.jar" in capsys.readouterr().err
