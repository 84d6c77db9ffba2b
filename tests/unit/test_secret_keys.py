"""The one rule for what counts as a secret (plugins/module_utils/secret_keys.py), as every module and the
cdc.pipeline.literal_secrets filter apply it."""
# ruff: noqa: S105 - the fake secrets and secret-named keys are what these tests compare

from __future__ import annotations

import json

import pytest

# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.
from ansible_collections.cdc.pipeline.plugins.module_utils import secret_keys as sk


@pytest.mark.parametrize(
    "key",
    [
        # Kafka Connect and librdkafka settings
        "connection.password",
        "scylla.password",
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "ssl.key.pem",
        "consumer.override.sasl.jaas.config",
        "aws.secret.access.key",
        "api.key",
        "access_key",
        "private.key",
        "ssl.keystore.key",
        "auth.token",
        "basic.auth.user.info",
        "client.secret",
        "credentials",
        "password.encoder.secret",
        # Vault/OpenBao objects and module options
        "password",
        "db_password",
        "sasl_password",
        "pem_bundle",
        "private_key",
        "client_token",
        "root_token",
        "secret_id",
        "unseal_key",
        "unseal_keys_b64",
        "recovery_keys_hex",
        "SECRET",
        "Db-Passwd",
    ],
)
def test_secret_keys(key):
    assert sk.is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "key.converter",
        "key.converter.schemas.enable",
        "primary.key.mode",
        "primary.key.fields",
        "message.key.columns",
        "tasks.max",
        "connection.username",
        "topic.prefix",
        "scylla.table.names",
        "tokenizer.mode",
        "basic.auth.credentials.source",
        "password.file",
        "token_ttl",
        "token_policies",
        "secret_id_ttl",
        "secret_id_num_uses",
        "ssl.truststore.location",
        "aws.access.key.id",
        "b64",
        "",
    ],
)
def test_settings_about_a_secret_stay_readable(key):
    assert not sk.is_secret_key(key)


def test_mask_secrets_masks_secret_and_extra_keys_at_any_depth():
    masked = sk.mask_secrets(
        {
            "password": "p",
            "pem_bundle": "-----BEGIN",
            "token_ttl": "1h",
            "token_policies": ["a"],
            "bind_secret_id": True,
            "custom": "c",
            "sasl_password": None,
            "ssl.key.password": "",
            "nested": [{"secret": "s", "name": "n", "token": 12345}],
        },
        extra_keys={"custom"},
    )
    assert masked == {
        "password": sk.MASK,
        "pem_bundle": sk.MASK,
        "token_ttl": "1h",
        "token_policies": ["a"],
        "bind_secret_id": True,  # a flag, not a secret
        "custom": sk.MASK,
        "sasl_password": None,  # nothing to hide, and the diff shows it is unset
        "ssl.key.password": "",
        "nested": [{"secret": sk.MASK, "name": "n", "token": sk.MASK}],
    }


def test_references_show_and_literals_do_not():
    config = {
        "connection.password": "${directory:/run/cdc-secrets/connect:sink-password}",
        "scylla.password": "hunter2-literal",
        "consumer.override.sasl.jaas.config": 'x required username="u" password="${directory:/d:f}";',
        "connection.username": "cdc_sink",
        "ssl.key.password": "",
    }
    masked = sk.mask_secrets(config)
    assert masked == {
        "connection.password": "${directory:/run/cdc-secrets/connect:sink-password}",
        "scylla.password": sk.MASK,
        "consumer.override.sasl.jaas.config": sk.MASK,  # not a pure reference: never printed
        "connection.username": "cdc_sink",
        "ssl.key.password": "",
    }
    assert "hunter2-literal" not in json.dumps(masked)
    assert sk.literal_secrets(config) == [
        ("consumer.override.sasl.jaas.config", config["consumer.override.sasl.jaas.config"]),
        ("scylla.password", "hunter2-literal"),
    ]
    assert sk.is_reference("${file:/a:b}${file:/c:d}")
    assert not sk.is_reference("pre-${file:/a:b}")
    assert not sk.is_reference(None)


def test_the_roles_filter_applies_the_same_rule():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.cdc.pipeline.plugins.filter.secrets import FilterModule

    literal_secrets = FilterModule().filters()["literal_secrets"]
    config = {"b.password": "x", "a.api.key": "y", "c.password": "${file:/p:k}", "tasks.max": "1"}
    assert literal_secrets(config) == ["a.api.key", "b.password"]
    with pytest.raises(AnsibleFilterError, match="needs a dict"):
        literal_secrets(["connection.password"])


def test_the_module_class_hides_no_log_options_and_secret_keys_at_any_depth():
    from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import secret_argument_values

    spec = {"sasl_password": {"no_log": True}, "acls": {"type": "list", "options": {"token_x": {"no_log": True}}}}
    params = {
        "sasl_password": "admin-pass",
        "acls": [{"token_x": "nested-no-log", "principal": "User:a"}],
        "config": {"db.password": 123456, "ref.password": "${file:/p:k}", "tasks.max": 1, "short.password": "ab"},
        "name": "visible",
    }
    hidden = secret_argument_values(params, spec)
    assert hidden == {"admin-pass", "nested-no-log", "123456"}
    # a malformed nested option (a string where a list of dicts belongs) still hides the top-level secret
    assert secret_argument_values({**params, "acls": "User:a"}, spec) >= {"admin-pass"}
