"""Kafka UUIDs derived from seeds (cluster ids kept as seeds in the secrets store)."""

import base64
import uuid

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.kafka import kafka_uuid

pytestmark = pytest.mark.unit


def test_same_seed_same_id_and_the_form_kafka_prints():
    first = kafka_uuid("a-seed-from-the-store")
    assert first == kafka_uuid("a-seed-from-the-store")
    # kafka-storage random-uuid prints 22 characters of URL-safe base64 without padding.
    assert len(first) == 22
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(first + "==")
    assert len(raw) == 16
    assert uuid.UUID(bytes=raw).int not in (0, 1)  # Kafka's reserved ZERO and ONE UUIDs


def test_different_seeds_differ():
    assert kafka_uuid("seed-1") != kafka_uuid("seed-2")


@pytest.mark.parametrize("seed", ["", None, 42])
def test_bad_seed_is_refused(seed):
    with pytest.raises(AnsibleFilterError, match="non-empty string seed"):
        kafka_uuid(seed)
