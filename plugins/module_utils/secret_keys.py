# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What counts as a secret, in one place: every module's diff and result masking, the kafka_connector
literal-secret warning, and the roles (through the cdc.pipeline.literal_secrets filter) use these.

The rule reads the END of a key, split into words on . _ and -: a key is secret when its last word
names a secret (connection.password, client_token, client.secret) or its last two words do
(aws.secret.access.key, pem_bundle, sasl.jaas.config). A trailing encoding word (b64, base64, hex)
is looked through (unseal_keys_b64). Reading the end keeps settings ABOUT a secret readable:
token_ttl, secret_id_ttl, token_policies, basic.auth.credentials.source, key.converter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"

# The last word alone makes a key secret.
SECRET_WORDS = frozenset(
    (
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "credential",
        "credentials",
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
    )
)
# The last two words together make a key secret (a "key" alone is mostly a converter or a column).
SECRET_PAIRS = frozenset(
    (
        ("secret", "id"),
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("hmac", "key"),
        ("client", "key"),
        ("ssl", "key"),
        ("keystore", "key"),
        ("unseal", "key"),
        ("unseal", "keys"),
        ("recovery", "key"),
        ("recovery", "keys"),
        ("key", "pem"),
        ("pem", "bundle"),
        ("jaas", "config"),
        ("user", "info"),
    )
)
_ENCODING_WORDS = frozenset(("b64", "base64", "hex"))
_WORD_SPLIT_RE = re.compile(r"[._-]+")
# A Kafka ConfigProvider reference, or several in a row: ${directory:/run/cdc-secrets/connect:sink-password}.
_REFERENCE_RE = re.compile(r"^(\$\{[^{}]+\})+$")


def is_secret_key(key):
    """True when values under this key are secrets (see the module docstring for the rule)."""
    words = [word for word in _WORD_SPLIT_RE.split(str(key).lower()) if word]
    if words and words[-1] in _ENCODING_WORDS:
        words = words[:-1]
    if not words:
        return False
    return words[-1] in SECRET_WORDS or tuple(words[-2:]) in SECRET_PAIRS


def is_reference(value):
    """A ConfigProvider reference such as ${directory:/run/cdc-secrets/connect:sink-password}: safe to show."""
    return isinstance(value, str) and bool(_REFERENCE_RE.match(value.strip()))


def holds_secret(value):
    """A value worth hiding: not empty, not a flag, not a reference to where the secret lives."""
    return value not in (None, "") and not isinstance(value, bool) and not is_reference(value)


def mask_secrets(value, extra_keys=()):
    """A copy of value (dicts and lists, nested) with secret keys, and extra_keys, shown as ********."""
    if isinstance(value, dict):
        return dict(
            (
                key,
                MASK
                if (key in extra_keys and item is not None) or (is_secret_key(key) and holds_secret(item))
                else mask_secrets(item, extra_keys),
            )
            for key, item in value.items()
        )
    if isinstance(value, list):
        return [mask_secrets(item, extra_keys) for item in value]
    return value


def literal_secrets(config):
    """(key, value) of the secret keys of a flat config that hold the secret itself instead of a reference."""
    return [(key, value) for key, value in sorted((config or {}).items()) if is_secret_key(key) and holds_secret(value)]
