# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every family of client modules (Vault, Kafka, Kafka Connect, CQL) shares: the checks of the TLS
files in its connection options, and the run that turns the family's error into one fail_json.

Each family keeps what is its own (its options, its client, its error wording) and calls these.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


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
