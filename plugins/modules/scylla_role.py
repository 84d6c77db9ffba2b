#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: scylla_role
short_description: Create, change and drop a CQL role and its permissions (ScyllaDB, Cassandra)
version_added: 0.1.0
description:
  - Manages one role of ScyllaDB's (or Apache Cassandra's) role-based access control - whether it may log in, whether it
    is a superuser, its password, and the exact set of permissions granted to it directly.
  - Reads the role with C(LIST ROLES) and its direct grants with C(LIST ALL PERMISSIONS OF <role> NORECURSIVE), so it
    works whichever keyspace the server keeps its auth tables in (C(system_auth), or C(system) in ScyllaDB's auth v2).
  - The server stores only a salted hash, so the password cannot be read back. With the default
    O(update_password=on_mismatch) the module logs in as O(name) with O(password), over the same O(login_hosts) and
    TLS settings as its own connection; a refused login means the password differs and it is set again. The login
    changes nothing, so check mode predicts exactly. A failed login may show in the server's audit log.
  - O(permissions) is the exact set of direct grants of the role; with O(exclusive=true) (the default) every other
    direct grant is revoked. Grants the role gets through roles granted to it are neither read nor changed.
  - Everything is checked before the first statement runs - before connecting, O(name) (not empty, no control
    characters or blanks around it, at most 256 characters), permission names and resources (keyspace and table
    names as CQL allows them); then that every keyspace, table and role named in O(permissions) exists, and that
    the module is not asked to drop or demote the role it logs in as. The server can still refuse a statement (for
    example an C(AllowAllAuthorizer) node refuses GRANT, or the login lacks AUTHORIZE) or stop answering; the task
    then reads the role and its grants back and fails naming exactly what was applied.
  - The password is never logged, returned or shown in a diff.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.cql
attributes:
  check_mode:
    support: full
    description:
      - Reads the role and its grants (and tests the login with O(update_password=on_mismatch)); changes nothing.
  diff_mode:
    support: full
    description: Login, superuser and the direct grants before and after; the password only as C(********).
options:
  name:
    description:
      - The role name, exactly as the server stores it (case-sensitive).
    type: str
    required: true
  state:
    description:
      - C(present) creates or changes the role, C(absent) drops it (with its grants; roles it was granted to lose it).
    type: str
    choices: [present, absent]
    default: present
  login:
    description:
      - Whether the role may log in (C(LOGIN)). Roles that only group permissions use C(false).
    type: bool
    default: true
  superuser:
    description:
      - Whether the role is a superuser (allowed everything, grants ignored). Service roles never need it.
    type: bool
    default: false
  password:
    description:
      - The role's password. Required to create a role with O(login=true).
    type: str
  update_password:
    description:
      - C(on_mismatch) sets the password when the role is created, or when a login as O(name) with O(password) is
        refused. A role with O(login=false) is not tested (the password is unused); one that gets LOGIN now has its
        password set with it.
      - C(always) sets it on every run (the task always reports a change).
      - C(on_create) sets it only when the role is created.
    type: str
    choices: [on_mismatch, always, on_create]
    default: on_mismatch
  permissions:
    description:
      - The permissions granted directly to the role. Not given - grants are not managed.
      - C(resource) is one of C(ALL KEYSPACES), C(KEYSPACE <ks>), C(TABLE <ks>.<table>), C(ALL ROLES) or
        C(ROLE <name>); names as the server stores them, C("double-quote") a keyspace or table with upper case.
      - C(permission) is one of C(CREATE), C(ALTER), C(DROP), C(SELECT), C(MODIFY), C(AUTHORIZE), C(DESCRIBE),
        C(EXECUTE), C(UNMASK), C(SELECT_MASKED) that applies to the resource. C(ALL) is refused - list what the role
        needs.
      - The ScyllaDB CDC source connector needs C(SELECT) on each source table and its C(<table>_scylla_cdc_log)
        table (enable CDC with M(cdc.pipeline.scylla_cdc) first, the log table must exist), and C(SELECT) on
        C(system_distributed.cdc_generation_timestamps) and C(system_distributed.cdc_streams_descriptions_v2).
        C(system.local), C(system.peers) and the C(system_schema) tables are readable by every role already.
      - A reconciliation (read-only checker) role needs only C(SELECT) on the source keyspaces.
    type: list
    elements: dict
    suboptions:
      permission:
        description: The permission.
        type: str
        required: true
      resource:
        description: What it applies to.
        type: str
        required: true
  exclusive:
    description:
      - With O(permissions) given, revoke every direct grant of the role that O(permissions) does not list.
      - C(false) only adds the missing grants.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Role of the ScyllaDB CDC source connector (least privilege)
  cdc.pipeline.scylla_role:
    login_hosts: ["10.0.0.31", "10.0.0.32", "10.0.0.33"]
    login_user: cdc_admin
    login_password: "{{ scylla_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    name: cdc_connector
    password: "{{ scylla_connector_password }}"
    permissions:
      - {permission: SELECT, resource: TABLE shop.orders}
      - {permission: SELECT, resource: TABLE shop.orders_scylla_cdc_log}
      - {permission: SELECT, resource: TABLE system_distributed.cdc_generation_timestamps}
      - {permission: SELECT, resource: TABLE system_distributed.cdc_streams_descriptions_v2}
  delegate_to: localhost

- name: Read-only role of the reconciliation job
  module_defaults:
    group/cdc.pipeline.cql:
      login_hosts: "{{ scylla_hosts }}"
      login_user: cdc_admin
      login_password: "{{ scylla_admin_password }}"
      ca_cert: /etc/cdc/pki/root-ca.pem
  block:
    - name: Reconciliation role
      cdc.pipeline.scylla_role:
        name: cdc_reconcile
        password: "{{ scylla_reconcile_password }}"
        permissions:
          - {permission: SELECT, resource: KEYSPACE shop}
      delegate_to: localhost

- name: Drop a role that is no longer used
  cdc.pipeline.scylla_role:
    login_hosts: ["10.0.0.31"]
    login_user: cdc_admin
    login_password: "{{ scylla_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    name: old_loader
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
role:
  description: The role name.
  returned: always
  type: str
  sample: cdc_connector
existed:
  description: Whether the role existed before the task.
  returned: always
  type: bool
  sample: false
login:
  description: Whether the role may log in after the task (predicted in check mode).
  returned: when O(state=present)
  type: bool
  sample: true
superuser:
  description: Whether the role is a superuser after the task (predicted in check mode).
  returned: when O(state=present)
  type: bool
  sample: false
password_changed:
  description: Whether the password was (or in check mode would be) set.
  returned: always
  type: bool
  sample: true
permissions:
  description: The role's direct grants after the task (predicted in check mode), as C(PERMISSION ON RESOURCE).
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["SELECT ON TABLE shop.orders", "SELECT ON TABLE shop.orders_scylla_cdc_log"]
granted:
  description: Grants added.
  returned: always
  type: list
  elements: str
  sample: ["SELECT ON TABLE shop.orders"]
revoked:
  description: Grants revoked (O(exclusive=true)).
  returned: always
  type: list
  elements: str
  sample: ["MODIFY ON TABLE shop.orders"]
password_reason:
  description: Why the password was or was not set (for example C(the password logs in)).
  returned: when O(state=present)
  type: str
  sample: the password does not log in
statements:
  description: The statements run (or, in check mode, that would run), in order; the password as C(********).
  returned: always
  type: list
  elements: str
  sample: ["CREATE ROLE 'cdc_connector' WITH PASSWORD = '********' AND LOGIN = true AND SUPERUSER = false"]
"""

import re

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.cql import (
    ApplyError,
    CqlClient,
    CqlModuleError,
    Statement,
    apply_statements,
    connection_argument_spec,
    parse_table_name,
    quote_identifier,
    run_module,
    schema_name_problem,
    string_literal,
    unquote_identifier,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import MASK

# A role name is any text to CQL; these rules only keep out what is a mistake or a log forgery.
ROLE_NAME_LENGTH = 256
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_role_name(name, option="name"):
    """Refuse a role name that is empty, has control characters or blanks around it, or is absurdly long."""
    if not isinstance(name, str) or not name.strip():
        raise CqlModuleError("%s is empty: give the role name" % option)
    if _CONTROL_RE.search(name) or name != name.strip():
        raise CqlModuleError(
            "%s %r has a control character or blanks around it: give the role name exactly, without them"
            % (option, name)
        )
    if len(name) > ROLE_NAME_LENGTH:
        raise CqlModuleError(
            "%s %s... has %d characters: role names of this module have at most %d"
            % (option, name[:20], len(name), ROLE_NAME_LENGTH)
        )
    return name


PERMISSIONS = tuple("CREATE ALTER DROP SELECT MODIFY AUTHORIZE DESCRIBE EXECUTE UNMASK SELECT_MASKED".split())
_DATA_PERMISSIONS = frozenset(("CREATE", "ALTER", "DROP", "SELECT", "MODIFY", "AUTHORIZE", "UNMASK", "SELECT_MASKED"))
# What each resource accepts (Cassandra's DataResource/RoleResource applicablePermissions;
# ScyllaDB's auth/resource.cc has the same sets, without the masking permissions).
APPLICABLE_PERMISSIONS = {
    "all_keyspaces": _DATA_PERMISSIONS,
    "keyspace": _DATA_PERMISSIONS,
    "table": _DATA_PERMISSIONS - frozenset(["CREATE"]),
    "all_roles": frozenset(("CREATE", "ALTER", "DROP", "AUTHORIZE", "DESCRIBE")),
    "role": frozenset(("ALTER", "DROP", "AUTHORIZE")),
}
RESOURCE_FORMS = "ALL KEYSPACES, KEYSPACE <ks>, TABLE <ks>.<table>, ALL ROLES or ROLE <name>"


def parse_declared_resource(text):
    """A resource as the module's users write it -> a tuple (kind, names...)."""
    raw = " ".join(str(text or "").split())
    upper = raw.upper()
    if upper == "ALL KEYSPACES":
        return ("all_keyspaces",)
    if upper == "ALL ROLES":
        return ("all_roles",)
    word, _space, rest = raw.partition(" ")
    word = word.upper()
    if word == "KEYSPACE" and rest and "." not in rest.strip('"'):
        keyspace = unquote_identifier(rest)
        problem = schema_name_problem(keyspace, "keyspace")
        if problem:
            raise CqlModuleError("permissions resource %r: %s" % (text, problem))
        return ("keyspace", keyspace)
    if word == "TABLE" and rest:
        keyspace, table = parse_table_name(rest, option="permissions resource")
        return ("table", keyspace, table)
    if word == "ROLE" and rest:
        name = rest.strip()
        if len(name) >= 2 and name[0] == name[-1] == "'":
            name = name[1:-1].replace("''", "'")
        return ("role", check_role_name(unquote_identifier(name), "permissions resource ROLE"))
    raise CqlModuleError("permissions resource %r is not one of %s" % (text, RESOURCE_FORMS))


_LISTED_PATTERNS = (
    (re.compile(r"^<all keyspaces>$"), lambda m: ("all_keyspaces",)),
    (re.compile(r"^<keyspace (.+)>$"), lambda m: ("keyspace", m.group(1))),
    (re.compile(r"^<table ([^.]+)\.(.+)>$"), lambda m: ("table", m.group(1), m.group(2))),
    (re.compile(r"^<all roles>$"), lambda m: ("all_roles",)),
    (re.compile(r"^<role (.+)>$"), lambda m: ("role", m.group(1))),
    (re.compile(r"^<all functions>$"), lambda m: ("all_functions",)),
    (re.compile(r"^<all functions in (?:keyspace )?(.+)>$"), lambda m: ("all_functions_in_keyspace", m.group(1))),
    (re.compile(r"^<function (.+)>$"), lambda m: ("function", m.group(1))),
    (re.compile(r"^<all mbeans>$"), lambda m: ("all_mbeans",)),
    (re.compile(r"^<mbean (.+)>$"), lambda m: ("mbean", m.group(1))),
)


def parse_listed_resource(text):
    """A resource as LIST PERMISSIONS prints it ('<table ks.t>', ...) -> the same tuples; ("unknown", text) else."""
    raw = str(text or "").strip()
    for pattern, build in _LISTED_PATTERNS:
        match = pattern.match(raw)
        if match:
            return build(match)
    return ("unknown", raw)


# Readable (and, with quoted names, CQL) form of each resource kind.
_RESOURCE_TEMPLATES = {
    "all_keyspaces": "ALL KEYSPACES",
    "keyspace": "KEYSPACE {0}",
    "table": "TABLE {0}.{1}",
    "all_roles": "ALL ROLES",
    "role": "ROLE {0}",
    "all_functions": "ALL FUNCTIONS",
    "all_functions_in_keyspace": "ALL FUNCTIONS IN KEYSPACE {0}",
    "function": "FUNCTION {0}",
    "all_mbeans": "ALL MBEANS",
    "mbean": "MBEAN {0}",
}
# How each name of a resource is written in CQL; kinds missing here cannot be written by the module.
_CQL_NAME_QUOTING = {
    "all_keyspaces": (),
    "keyspace": (quote_identifier,),
    "table": (quote_identifier, quote_identifier),
    "all_roles": (),
    "role": (string_literal,),
    "all_functions": (),
    "all_functions_in_keyspace": (quote_identifier,),
    "all_mbeans": (),
    "mbean": (string_literal,),
}


def resource_text(resource):
    """The readable form used in results and diffs: 'TABLE ks.t'."""
    template = _RESOURCE_TEMPLATES.get(resource[0])
    return template.format(*resource[1:]) if template else str(resource[-1])


def resource_cql(resource):
    """The resource in CQL (quoted names), or None when the module cannot write it (a function signature, ...)."""
    quoting = _CQL_NAME_QUOTING.get(resource[0])
    if quoting is None:
        return None
    names = [quote(name) for quote, name in zip(quoting, resource[1:], strict=True)]
    return _RESOURCE_TEMPLATES[resource[0]].format(*names)


def normalize_permission(value):
    text = str(value or "").strip().upper().replace(" ", "_")
    if text in ("ALL", "ALL_PERMISSIONS"):
        raise CqlModuleError(
            "permission %s is not accepted: list the permissions the role needs one by one (least privilege), "
            "for example SELECT" % value
        )
    if text not in PERMISSIONS:
        raise CqlModuleError("permission %r is not one of %s" % (value, ", ".join(PERMISSIONS)))
    return text


def normalize_grant(entry):
    """One declared grant {permission, resource} -> (PERMISSION, resource tuple), checked for applicability."""
    if not isinstance(entry, dict) or not entry.get("permission") or not entry.get("resource"):
        raise CqlModuleError(
            "permissions entry %r needs permission and resource, e.g. {permission: SELECT, resource: TABLE ks.t}"
            % (entry,)
        )
    permission = normalize_permission(entry["permission"])
    resource = parse_declared_resource(entry["resource"])
    if permission not in APPLICABLE_PERMISSIONS[resource[0]]:
        raise CqlModuleError(
            "permission %s does not apply to %s (it takes %s)"
            % (permission, resource_text(resource), ", ".join(sorted(APPLICABLE_PERMISSIONS[resource[0]])))
        )
    return permission, resource


def grant_text(grant):
    return "%s ON %s" % (grant[0], resource_text(grant[1]))


def sort_grants(grants):
    return sorted(set(grants), key=lambda grant: (resource_text(grant[1]), grant[0]))


def plan_grants(wanted, current, exclusive):
    """(to_grant, to_revoke): what is missing, and with exclusive what is granted but not wanted."""
    wanted_set, current_set = set(wanted), set(current)
    to_grant = sort_grants(wanted_set - current_set)
    to_revoke = sort_grants(current_set - wanted_set) if exclusive else []
    return to_grant, to_revoke


def grant_statement(grant, role):
    return Statement("GRANT %s ON %s TO %s" % (grant[0], resource_cql(grant[1]), string_literal(role)))


def revoke_statement(grant, role):
    cql = resource_cql(grant[1])
    if cql is None:
        raise CqlModuleError(
            "role %s holds %s, which this module cannot revoke (it does not know how to write that resource in "
            "CQL): revoke it by hand, or run with exclusive=false" % (role, grant_text(grant))
        )
    return Statement("REVOKE %s ON %s FROM %s" % (grant[0], cql, string_literal(role)))


def list_roles(client):
    """{name: {"login", "superuser"}} of every role. LIST ROLES works whatever keyspace holds the auth tables."""
    return dict(
        (row.get("role"), {"login": bool(row.get("login")), "superuser": bool(row.get("super"))})
        for row in client.rows("LIST ROLES", what="list the roles")
    )


def read_grants(client, name):
    """The role's direct grants as (PERMISSION, resource tuple)."""
    rows = client.rows(
        "LIST ALL PERMISSIONS OF %s NORECURSIVE" % string_literal(name),
        what="list the permissions of role %s" % name,
    )
    return sort_grants(
        (str(row["permission"]).upper(), parse_listed_resource(row["resource"]))
        for row in rows
        if row.get("role", name) == name
    )


def wanted_grants(entries):
    if entries is None:
        return None
    return sort_grants(normalize_grant(entry) for entry in entries)


def missing_resources(client, grants, roles):
    """Resources named in grants that do not exist (GRANT would fail half-way): readable texts."""
    missing = []
    keyspaces = {}
    for _permission, resource in grants:
        kind = resource[0]
        if kind in ("keyspace", "table"):
            keyspace = resource[1]
            if keyspace not in keyspaces:
                keyspaces[keyspace] = existing_tables(client, keyspace)
            tables = keyspaces[keyspace]
            if tables is None:
                missing.append("keyspace %s" % keyspace)
            elif kind == "table" and resource[2] not in tables:
                missing.append("table %s.%s" % (keyspace, resource[2]))
        elif kind == "role" and resource[1] not in roles:
            missing.append("role %s" % resource[1])
    return sorted(set(missing))


def existing_tables(client, keyspace):
    """Table names of a keyspace (views included: they take SELECT too), or None when it does not exist."""
    if not client.rows(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
        [keyspace],
        what="read system_schema.keyspaces",
    ):
        return None
    tables = client.rows(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
        [keyspace],
        what="read system_schema.tables",
    )
    views = client.rows(
        "SELECT view_name FROM system_schema.views WHERE keyspace_name = %s",
        [keyspace],
        what="read system_schema.views",
    )
    return set(row["table_name"] for row in tables) | set(row["view_name"] for row in views)


def password_matches(params):
    """Whether name/password log in over the module's own connection settings."""
    try:
        return CqlClient(params, username=params["name"], password=params["password"]).login_succeeds()
    except CqlModuleError as exc:
        raise CqlModuleError(
            "could not test the password of role %s (update_password=on_mismatch): %s; or set update_password to "
            "always or on_create" % (params["name"], exc)
        ) from exc


def password_rule(params, role):
    """Whether to set the password of an existing role without testing it: (bool, reason), or (None, "") to test."""
    if params["password"] is None:
        return False, "no password given"
    if params["update_password"] == "always":  # noqa: S105 - a choice, not a password
        return True, "update_password=always"
    if params["update_password"] == "on_create":  # noqa: S105 - a choice, not a password
        return False, "exists (update_password=on_create never changes it)"
    if not params["login"]:
        return False, "login=false: the password is not used, so not tested"
    if not role["login"]:
        # It cannot be tested before LOGIN is granted; LOGIN without a known password would surprise.
        return True, "LOGIN is being granted: the password is set with it"
    return None, ""


def password_action(params, role):
    """Whether to set the password of an existing role: (bool, reason); on_mismatch tests it with a login."""
    decided, reason = password_rule(params, role)
    if decided is not None:
        return decided, reason
    if password_matches(params):
        return False, "the password logs in"
    return True, "the password does not log in"


def role_options(login=None, superuser=None, password=None):
    """(cql, shown) of a WITH clause; the password masked in shown."""
    parts, shown = [], []
    if password is not None:
        parts.append("PASSWORD = %s" % string_literal(password))
        shown.append("PASSWORD = '%s'" % MASK)
    for key, value in (("LOGIN", login), ("SUPERUSER", superuser)):
        if value is not None:
            parts.append("%s = %s" % (key, "true" if value else "false"))
            shown.append(parts[-1])
    return " AND ".join(parts), " AND ".join(shown)


def role_statement(verb, name, login=None, superuser=None, password=None):
    cql, shown = role_options(login, superuser, password)
    head = "%s ROLE %s" % (verb, string_literal(name))
    if not cql:
        return Statement(head, what="%s role %s" % (verb.lower(), name))
    return Statement("%s WITH %s" % (head, cql), "%s WITH %s" % (head, shown), what="%s role %s" % (verb.lower(), name))


def refuse_self_changes(params, role):
    """The module must not drop or demote the role it is logged in as (the server refuses the latter anyway)."""
    if params["name"] != params.get("login_user"):
        return
    if params["state"] == "absent":
        raise CqlModuleError("refusing to drop role %s: the module is logged in as it (login_user)" % params["name"])
    if role and ((role["superuser"] and not params["superuser"]) or (role["login"] and not params["login"])):
        raise CqlModuleError(
            "refusing to take LOGIN or SUPERUSER from role %s: the module is logged in as it (login_user); log in as "
            "another superuser to change it" % params["name"]
        )


def absent(module, client, role, result):
    name = module.params["name"]
    if role is None:
        return result
    refuse_self_changes(module.params, role)
    statement = role_statement("DROP", name)
    result.update(
        changed=True,
        statements=[statement.shown],
        diff={"before": {"name": name, "login": role["login"], "superuser": role["superuser"]}, "after": {}},
    )
    if not module.check_mode:
        apply_reporting(client, module.params, [statement], role, read_grants(client, name))
    return result


def role_change(params, role):
    """(statement or None, password_changed, reason) that brings the role to login/superuser/password."""
    name, login, superuser = params["name"], params["login"], params["superuser"]
    if role is None:
        if login and params["password"] is None:
            raise CqlModuleError(
                "role %s does not exist and login=true: give password (or login=false for a role that only groups "
                "permissions)" % name
            )
        return role_statement("CREATE", name, login, superuser, params["password"]), params["password"] is not None, ""
    set_password, reason = password_action(params, role)
    changes = dict(
        login=login if role["login"] != login else None,
        superuser=superuser if role["superuser"] != superuser else None,
        password=params["password"] if set_password else None,
    )
    if all(value is None for value in changes.values()):
        return None, False, reason
    return role_statement("ALTER", name, **changes), set_password, reason


def present(module, client, roles, result):
    params = module.params
    name = params["name"]
    role = roles.get(name)
    refuse_self_changes(params, role)
    wanted = wanted_grants(params["permissions"])
    missing = missing_resources(client, wanted, roles) if wanted else []
    if missing:
        raise CqlModuleError(
            "nothing was changed: permissions name what does not exist: %s. Create it first (for a CDC log table, "
            "enable CDC with cdc.pipeline.scylla_cdc)" % ", ".join(missing)
        )
    current = read_grants(client, name) if role is not None else []
    to_grant, to_revoke = plan_grants(wanted, current, params["exclusive"]) if wanted is not None else ([], [])
    revokes = [revoke_statement(grant, name) for grant in to_revoke]  # refuses before anything changes
    change, password_changed, reason = role_change(params, role)  # after the checks: it may test a login
    statements = ([change] if change else []) + revokes
    statements += [grant_statement(grant, name) for grant in to_grant]

    after_grants = sort_grants(set(current) - set(to_revoke) | set(to_grant))
    result.update(
        changed=bool(statements),
        login=params["login"],
        superuser=params["superuser"],
        password_changed=password_changed,
        password_reason=reason,
        permissions=[grant_text(grant) for grant in after_grants],
        granted=[grant_text(grant) for grant in to_grant],
        revoked=[grant_text(grant) for grant in to_revoke],
        statements=[statement.shown for statement in statements],
    )
    if statements:
        before = {} if role is None else dict(role, name=name, permissions=[grant_text(g) for g in current])
        after = {"name": name, "login": params["login"], "superuser": params["superuser"]}
        after["permissions"] = result["permissions"]
        if password_changed:
            after["password"] = MASK + (" (new)" if role is None else " (set again)")
        result["diff"] = {"before": before, "after": after}
    if statements and not module.check_mode:
        apply_reporting(client, params, statements, role, current)
    return result


def apply_reporting(client, params, statements, role_before, grants_before):
    """Run statements; on a failure, say what the server holds now compared with before (read back).

    A statement the server did not answer may have been applied all the same, so the list of statements that
    ran is not enough: the role and its grants are read again (over a new connection when the old one is
    gone) and the differences are named. When even that fails, the message says the state is unknown.
    """
    try:
        apply_statements(client, statements)
    except ApplyError as exc:
        raise CqlModuleError(
            "%s. %s" % (exc.cause, applied_after_failure(client, params, exc, role_before, grants_before)),
            kind=exc.kind,
        ) from exc


def read_role_state(client, name):
    role = list_roles(client).get(name)
    return role, (read_grants(client, name) if role is not None else [])


def applied_after_failure(client, params, exc, role_before, grants_before):
    """Words for what the failed run changed on the server, read back; never the password."""
    name = params["name"]
    try:
        role, grants = read_role_state(client, name)
    except CqlModuleError:
        fresh = CqlClient(params)
        try:
            fresh.connect()
            role, grants = read_role_state(fresh, name)
        except CqlModuleError as again:
            return (
                "Could not read role %s back after the failure (%s): what was applied is unknown (statements "
                "sent before the failure: %s); check it with LIST ROLES and LIST ALL PERMISSIONS OF %s NORECURSIVE "
                "before running again"
                % (name, again, "; ".join(s.shown for s in exc.done) or "none", string_literal(name))
            )
        finally:
            fresh.close()
    applied = []
    if role_before is None and role is not None:
        applied.append(
            "role %s created (LOGIN = %s, SUPERUSER = %s)"
            % (name, _cql_bool(role["login"]), _cql_bool(role["superuser"]))
        )
    elif role_before is not None and role is None:
        applied.append("role %s dropped" % name)
    elif role is not None:
        for key, word in (("login", "LOGIN"), ("superuser", "SUPERUSER")):
            if role[key] != role_before[key]:
                applied.append("%s of role %s changed to %s" % (word, name, _cql_bool(role[key])))
    if role is not None and any(MASK in s.shown for s in exc.done):
        applied.append("password of role %s set" % name)
    grants_before, grants = set(grants_before or []), set(grants or [])
    applied += ["granted %s" % grant_text(g) for g in sort_grants(grants - grants_before)]
    if role is not None:
        applied += ["revoked %s" % grant_text(g) for g in sort_grants(grants_before - grants)]
    return "Applied before the failure (read back from the server): %s; run the task again once the cause is fixed" % (
        "; ".join(applied) or "nothing"
    )


def _cql_bool(value):
    return "true" if value else "false"


def validate(params):
    """Everything that can be checked without the server, before connecting."""
    check_role_name(params["name"], "name")
    wanted_grants(params["permissions"])


def run(module, client):
    params = module.params
    name = params["name"]
    validate(params)
    roles = list_roles(client)
    role = roles.get(name)
    result = {
        "changed": False,
        "role": name,
        "existed": role is not None,
        "password_changed": False,
        "granted": [],
        "revoked": [],
        "statements": [],
    }
    if params["state"] == "absent":
        return absent(module, client, role, result)
    return present(module, client, roles, result)


class RoleModule(SecretSafeModule):
    """Names the option in Ansible's own message for a permissions entry that is not a dict (it names none)."""

    def fail_json(self, msg, **kwargs):
        if str(msg).startswith("dictionary requested"):
            msg = (
                "permissions must be a list of {permission, resource} dicts, e.g. [{permission: SELECT, resource: "
                "TABLE ks.t}] (%s)" % msg
            )
        super(RoleModule, self).fail_json(msg, **kwargs)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        login=dict(type="bool", default=True),
        superuser=dict(type="bool", default=False),
        password=dict(type="str", no_log=True),
        update_password=dict(
            type="str", choices=["on_mismatch", "always", "on_create"], default="on_mismatch", no_log=False
        ),
        permissions=dict(
            type="list",
            elements="dict",
            options=dict(
                permission=dict(type="str", required=True),
                resource=dict(type="str", required=True),
            ),
        ),
        exclusive=dict(type="bool", default=True),
    )
    module = RoleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run, validate=validate)


if __name__ == "__main__":
    main()
