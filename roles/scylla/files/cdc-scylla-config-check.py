#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a candidate scylla.yaml before it replaces the live one (the role's template `validate`).

ScyllaDB has no offline configuration checker to rely on (the server reads scylla.yaml only when it
starts, and logs unknown keys rather than refusing them), so this checks what the pipeline depends
on: the file parses as YAML into a mapping, and the security settings are the ones the role sets -
authentication and authorization on, CQL over TLS only (no plain port), internode TLS everywhere
and mutual, TLS 1.2+ in both priority strings, seeds and addresses present, the certificate files
readable. Exit 0 when the file is fine, 1 with one line per problem otherwise.

Usage: cdc-scylla-config-check [--skip-file-checks] <scylla.yaml candidate>
"""

import os
import re
import sys

import yaml

PLAIN_PORT_KEYS = ("native_transport_port", "native_shard_aware_transport_port")
REQUIRED_SCALARS = ("cluster_name", "listen_address", "rpc_address", "broadcast_address", "native_transport_port_ssl")
TLS_FILE_KEYS = ("certificate", "keyfile", "truststore")
WEAK_VERSIONS = ("VERS-TLS1.0", "VERS-TLS1.1", "VERS-SSL3.0")


def truthy(value):
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def priority_problems(where, priority):
    """A GnuTLS priority string must allow neither TLS 1.0/1.1 nor SSL 3."""
    if not priority:
        return ["%s.priority_string is missing (ScyllaDB's default allows TLS 1.0)" % where]
    tokens = [token.strip() for token in str(priority).split(":")]
    problems = []
    if "-VERS-ALL" in tokens:
        allowed = [token for token in tokens[tokens.index("-VERS-ALL") + 1 :] if token.startswith("+VERS-")]
        if not allowed:
            problems.append("%s.priority_string %r enables no TLS version after -VERS-ALL" % (where, priority))
        weak = [token[1:] for token in allowed if token[1:] in WEAK_VERSIONS]
    else:
        weak = [version for version in WEAK_VERSIONS if "-" + version not in tokens]
    if weak:
        problems.append("%s.priority_string %r allows %s: TLS 1.2 or newer only" % (where, priority, ", ".join(weak)))
    return problems


def file_problems(where, options):
    problems = []
    for key in TLS_FILE_KEYS:
        path = options.get(key)
        if not path:
            problems.append("%s.%s is missing" % (where, key))
        elif not os.path.isfile(path) or not os.access(path, os.R_OK):
            problems.append("%s.%s %s is not a readable file" % (where, key, path))
    return problems


def check(config, file_checks=True):
    """The problems of a parsed scylla.yaml, as readable lines (empty when fine)."""
    if not isinstance(config, dict):
        return ["the file is not a YAML mapping of settings"]
    problems = ["%s is missing" % key for key in REQUIRED_SCALARS if config.get(key) in (None, "")]
    if config.get("authenticator") != "PasswordAuthenticator":
        problems.append("authenticator must be PasswordAuthenticator, not %r" % config.get("authenticator"))
    if config.get("authorizer") != "CassandraAuthorizer":
        problems.append("authorizer must be CassandraAuthorizer, not %r" % config.get("authorizer"))
    problems += [
        "%s is set: that opens a plain CQL port (set only the _ssl ports)" % key
        for key in PLAIN_PORT_KEYS
        if key in config
    ]
    seeds = ""
    for provider in config.get("seed_provider") or []:
        for parameters in provider.get("parameters") or []:
            seeds = parameters.get("seeds") or seeds
    if not re.search(r"\S", str(seeds)):
        problems.append("seed_provider has no seeds")

    client = config.get("client_encryption_options") or {}
    if not truthy(client.get("enabled")):
        problems.append("client_encryption_options.enabled must be true (CQL over TLS only)")
    problems += priority_problems("client_encryption_options", client.get("priority_string"))

    server = config.get("server_encryption_options") or {}
    if server.get("internode_encryption") != "all":
        problems.append(
            "server_encryption_options.internode_encryption must be all, not %r" % server.get("internode_encryption")
        )
    if not truthy(server.get("require_client_auth")):
        problems.append("server_encryption_options.require_client_auth must be true (mutual TLS between nodes)")
    problems += priority_problems("server_encryption_options", server.get("priority_string"))

    if config.get("audit", "none") not in ("none", "table", "syslog"):
        problems.append(
            "audit must be none, table or syslog (ScyllaDB refuses to start otherwise), not %r" % config.get("audit")
        )
    if str(config.get("api_address", "127.0.0.1")) not in ("127.0.0.1", "localhost", "::1"):
        problems.append(
            "api_address %s: the REST API has no authentication, keep it on loopback" % config.get("api_address")
        )
    if file_checks:
        problems += file_problems("client_encryption_options", client)
        problems += file_problems("server_encryption_options", server)
    return problems


def main(argv):
    args = [arg for arg in argv[1:] if arg != "--skip-file-checks"]
    if len(args) != 1:
        sys.stderr.write("usage: cdc-scylla-config-check [--skip-file-checks] <scylla.yaml>\n")
        return 2
    try:
        with open(args[0], encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        sys.stderr.write("%s: cannot be read as YAML: %s\n" % (args[0], exc))
        return 1
    problems = check(config, file_checks="--skip-file-checks" not in argv)
    for problem in problems:
        sys.stderr.write("%s: %s\n" % (args[0], problem))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
