# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every family of client modules (Vault, Kafka, Kafka Connect, CQL) shares: the module class that
keeps secrets out of every result, the checks of the TLS files in its connection options, and the run
that turns the family's error into one fail_json.

Each family keeps what is its own (its options, its client, its error wording) and calls these.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import holds_secret, is_secret_key

# Shorter values would be hidden inside unrelated text all over the output.
SHORTEST_HIDDEN = 3


class SecretSafeModule(AnsibleModule):
    """AnsibleModule whose results never carry a secret argument, whatever else is wrong with the arguments.

    Ansible collects the values of no_log options while it validates, and a malformed nested option (a
    string where a list of dicts belongs) stops that collection: the failure's `invocation` then shows
    sasl_password or login_password in clear. Before any result leaves, this collects them again from
    the arguments as given, together with every value under a secret key (secret_keys), such as the
    password in vault_object's data.
    """

    def exit_json(self, **kwargs):
        self._hide_secret_arguments()
        super(SecretSafeModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._hide_secret_arguments()
        super(SecretSafeModule, self).fail_json(argument_error_naming_the_option(self, msg), **kwargs)

    def _hide_secret_arguments(self):
        self.no_log_values.update(secret_argument_values(getattr(self, "params", None), self.argument_spec))


def argument_error_naming_the_option(module, msg):
    """The argument error to report: Ansible reports the first one, and for a malformed nested option (a string
    where a list of dicts belongs) that is the no_log collection's, which names no option
    ("dictionary requested, could not parse JSON or key=value"). The next error names it; msg otherwise."""
    errors = getattr(getattr(getattr(module, "validation_result", None), "errors", None), "errors", None) or []
    if not errors or str(msg) != str(errors[0].error_message) or type(errors[0]).__name__ != "NoLogError":
        return msg
    for error in errors[1:]:
        if type(error).__name__ != "NoLogError":
            return error.error_message
    return msg


def secret_argument_values(params, spec):
    """The strings held by no_log options and secret keys in params (any depth), as Ansible should hide them."""
    found = set()
    if not isinstance(params, dict):
        return found
    for key, value in params.items():
        option = (spec or {}).get(key) if isinstance(spec, dict) else None
        option = option if isinstance(option, dict) else {}
        if option.get("no_log"):
            found.update(_strings(value))
        elif is_secret_key(key):  # a ${provider:path:key} reference says where the secret is: it stays readable
            found.update(text for text in _strings(value) if holds_secret(text))
        elif isinstance(value, dict):
            found.update(secret_argument_values(value, option.get("options")))
        elif isinstance(value, list):
            for item in value:
                found.update(secret_argument_values(item, option.get("options")))
    return found


def _strings(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        return {value} if len(value) >= SHORTEST_HIDDEN else set()
    if isinstance(value, dict):
        return set().union(*(_strings(item) for item in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_strings(item) for item in value)) if value else set()
    return set()


def tls_file_problem(params, ca_purpose, where="on the controller"):
    """The first thing wrong with ca_cert/client_cert/client_key, worded with its fix, or None.

    ca_purpose names the CA the option must point at ("the PEM CA that signed the brokers' listener
    certificates"); where says on which machine the module looks for the files.
    """
    ca_cert = params.get("ca_cert")
    if ca_cert and not os.path.isfile(ca_cert):
        return "ca_cert %s does not exist %s: give the path of %s" % (ca_cert, where, ca_purpose)
    if bool(params.get("client_cert")) != bool(params.get("client_key")):
        return "client_cert and client_key go together: give both (mutual TLS) or neither"
    for option in ("client_cert", "client_key"):
        if params.get(option) and not os.path.isfile(params[option]):
            return "%s %s does not exist %s" % (option, params[option], where)
    return None


def run_module(module, error_type, open_client, body, warnings=()):
    """Warn, open the client, run body(module, client), close it and exit.

    An error_type raised by any step becomes one fail_json with the error's text (and its `details`,
    when it carries any), so a module never ends in a traceback or a half-reported change.
    """
    for warning in warnings:
        module.warn(warning)
    client = None
    try:
        client = open_client(module)
        result = body(module, client)
    except error_type as exc:
        _close(client)
        module.fail_json(msg=str(exc), **(getattr(exc, "details", None) or {}))
    _close(client)
    module.exit_json(**result)


def _close(client):
    close = getattr(client, "close", None)
    if close is not None:
        close()
