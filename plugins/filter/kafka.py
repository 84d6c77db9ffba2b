# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kafka identifiers derived from stored seeds, so every node and every run agree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible.errors import AnsibleFilterError

# Kafka reserves the all-zero UUID and the one whose low bit alone is set (Uuid.ZERO_UUID, ONE_UUID).
_RESERVED = (bytes(16), bytes(15) + b"\x01")


def kafka_uuid(seed):
    """Turn any non-empty seed into a Kafka UUID string (22 characters of URL-safe base64)."""
    if not isinstance(seed, str) or not seed:
        raise AnsibleFilterError("kafka_uuid needs a non-empty string seed")
    raw = hashlib.sha256(seed.encode("utf-8")).digest()[:16]
    if raw in _RESERVED:  # pragma: no cover - a sha256 prefix of 16 zero bytes does not happen
        raise AnsibleFilterError("the seed maps to a reserved Kafka UUID; choose another seed")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class FilterModule(object):
    def filters(self):
        return {"kafka_uuid": kafka_uuid}
