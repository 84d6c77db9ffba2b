#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_acl
short_description: Grant and revoke Kafka ACLs, optionally removing every other ACL of some principals
version_added: 0.1.0
description:
  - Creates the ACLs of O(acls) that do not exist (O(state=present)) or deletes those that do (O(state=absent)).
    An ACL is identical when all of principal, resource type, resource name, pattern type, operation,
    permission and host are; nothing else is compared, so the module is idempotent.
  - With O(exclusive_principals) every ACL of those principals that is not in O(acls) is deleted (drift removal),
    so O(acls) becomes their complete list. ACLs of other principals are never read or touched.
  - New ACLs are created before old ones are deleted, so a principal never loses access on the way. When either
    step fails, the change is undone (the ACLs this task added are deleted, those it removed are created again)
    and the task fails saying so.
  - Works with the KRaft C(StandardAuthorizer) (and any authorizer behind the Kafka admin API). With
    C(allow.everyone.if.no.acl.found=false) a principal can do only what an ACL allows.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description: Reads the ACLs and reports what would be added and removed; writes nothing.
  diff_mode:
    support: full
    description: The ACLs of the principals concerned before and after, one line each.
options:
  acls:
    description:
      - The ACLs to grant (or, with O(state=absent), to revoke).
    type: list
    elements: dict
    default: []
    suboptions:
      principal:
        description:
          - Who the ACL is for, as C(User:<name>) (a plain name gets C(User:) put in front). C(User:*) is everyone.
        type: str
        required: true
      resource_type:
        description:
          - Kind of resource.
        type: str
        required: true
        choices: [topic, group, cluster, transactional_id]
      resource_name:
        description:
          - Name of the resource, a prefix with O(acls[].pattern_type=prefixed), or C(*) for every resource of
            the type. Not needed for C(cluster) (always C(kafka-cluster)).
        type: str
      pattern_type:
        description:
          - C(literal) matches O(acls[].resource_name) exactly (or every resource with C(*));
            C(prefixed) matches every name starting with it.
        type: str
        choices: [literal, prefixed]
        default: literal
      operation:
        description:
          - What is allowed or denied. C(all) covers every operation.
        type: str
        required: true
        choices: [all, read, write, create, delete, alter, describe, cluster_action, describe_configs, alter_configs,
                  idempotent_write]
      permission:
        description:
          - C(allow) or C(deny). A deny wins over any allow.
        type: str
        choices: [allow, deny]
        default: allow
      host:
        description:
          - Client address the ACL applies to; C(*) is any.
        type: str
        default: "*"
  state:
    description:
      - C(present) creates the missing ACLs of O(acls), C(absent) deletes the ones that exist.
    type: str
    choices: [present, absent]
    default: present
  exclusive_principals:
    description:
      - Principals whose ACLs must be exactly O(acls); their other ACLs are deleted. Only with O(state=present).
      - A principal listed here with no ACL in O(acls) loses all of its ACLs.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Connect workers read the CDC topics and use their group; nothing else
  cdc.pipeline.kafka_acl:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    acls:
      - principal: User:connect
        resource_type: topic
        resource_name: cdc.
        pattern_type: prefixed
        operation: read
      - principal: User:connect
        resource_type: topic
        resource_name: cdc.
        pattern_type: prefixed
        operation: write
      - principal: User:connect
        resource_type: group
        resource_name: connect-cluster
        operation: read
      - principal: User:connect
        resource_type: cluster
        operation: idempotent_write
    exclusive_principals: [User:connect]
  delegate_to: localhost

- name: Revoke a temporary grant
  cdc.pipeline.kafka_acl:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ kafka_admin_password }}"
    ca_cert: /etc/cdc/pki/root-ca.pem
    acls:
      - principal: User:debug
        resource_type: topic
        resource_name: cdc.events
        operation: read
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
acls_added:
  description: ACLs created (would be created in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - principal: User:connect
      resource_type: topic
      resource_name: cdc.
      pattern_type: prefixed
      operation: read
      permission: allow
      host: "*"
acls_removed:
  description: ACLs deleted (would be deleted in check mode), same form as RV(acls_added).
  returned: always
  type: list
  elements: dict
acls:
  description:
    - The ACLs of the principals in O(acls) and O(exclusive_principals) after the task, same form as RV(acls_added).
  returned: always
  type: list
  elements: dict
"""

import re

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    KafkaModuleError,
    connection_argument_spec,
    run_module,
)

CLUSTER_RESOURCE_NAME = "kafka-cluster"
ACL_RESOURCE_TYPES = ["topic", "group", "cluster", "transactional_id"]
ACL_PATTERN_TYPES = ["literal", "prefixed"]
ACL_OPERATIONS = [
    "all",
    "read",
    "write",
    "create",
    "delete",
    "alter",
    "describe",
    "cluster_action",
    "describe_configs",
    "alter_configs",
    "idempotent_write",
]
ACL_PERMISSIONS = ["allow", "deny"]
ACL_FIELDS = ("principal", "resource_type", "resource_name", "pattern_type", "operation", "permission", "host")


def refuse_control_characters(entry):
    for key in ("principal", "resource_name", "host"):
        value = entry.get(key)
        if isinstance(value, str) and re.search(r"[\x00-\x1f\x7f]", value):
            raise KafkaModuleError(
                "acls: %s %r has a control character (a newline, a tab...): give it without" % (key, value)
            )


def normalize_principal(principal):
    """'connect' -> 'User:connect'; 'User:connect' and other Type:name principals stay as they are."""
    text = str(principal or "").strip()
    if not text:
        raise KafkaModuleError("acls: an ACL has an empty principal: give it as User:<name>")
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise KafkaModuleError("principal %r has a control character: give it as User:<name>" % text)
    if ":" not in text:
        return "User:" + text
    kind, name = text.split(":", 1)
    if not kind or not name:
        raise KafkaModuleError("principal %r is not Type:name (for example User:connect)" % text)
    return "%s:%s" % (kind, name)


def _choice(entry, key, choices, default=None):
    value = entry.get(key)
    value = default if value is None else str(value).strip().lower().replace("-", "_")
    if value not in choices:
        raise KafkaModuleError("ACL %s %r is not one of %s" % (key, entry.get(key), ", ".join(choices)))
    return value


def normalize_acl(entry):
    """One ACL as a canonical dict (lower-case enums, User: principal, cluster resource named kafka-cluster)."""
    refuse_control_characters(entry)
    resource_type = _choice(entry, "resource_type", ACL_RESOURCE_TYPES)
    resource_name = entry.get("resource_name")
    if resource_type == "cluster":
        if resource_name not in (None, "", CLUSTER_RESOURCE_NAME):
            raise KafkaModuleError(
                "resource_name of a cluster ACL is always %s (got %r): leave it out"
                % (CLUSTER_RESOURCE_NAME, resource_name)
            )
        resource_name = CLUSTER_RESOURCE_NAME
    elif not resource_name:
        raise KafkaModuleError(
            "an ACL on a %s needs resource_name (a name, a prefix with pattern_type=prefixed, or * for all)"
            % resource_type
        )
    pattern_type = _choice(entry, "pattern_type", ACL_PATTERN_TYPES, "literal")
    if pattern_type == "prefixed" and resource_name == "*":
        raise KafkaModuleError("resource_name * is a literal wildcard: use pattern_type=literal with it")
    return {
        "principal": normalize_principal(entry.get("principal")),
        "resource_type": resource_type,
        "resource_name": str(resource_name),
        "pattern_type": pattern_type,
        "operation": _choice(entry, "operation", ACL_OPERATIONS),
        "permission": _choice(entry, "permission", ACL_PERMISSIONS, "allow"),
        "host": str(entry.get("host") or "*").strip(),
    }


def acl_key(acl):
    return tuple(acl[field] for field in ACL_FIELDS)


def acl_text(acl):
    """A readable line for diffs: 'User:connect ALLOW READ topic:cdc. (prefixed) from *'."""
    return "%s %s %s %s:%s (%s) from %s" % (
        acl["principal"],
        acl["permission"].upper(),
        acl["operation"].upper(),
        acl["resource_type"],
        acl["resource_name"],
        acl["pattern_type"],
        acl["host"],
    )


def sort_acls(acls):
    unique = dict((acl_key(acl), acl) for acl in acls)
    return [unique[key] for key in sorted(unique)]


def plan_acls(wanted, current, state="present", exclusive_principals=()):
    """(to_add, to_remove) of normalised ACLs.

    present: add what is missing; with exclusive_principals also remove every current ACL of those
    principals that is not wanted (other principals are never touched). absent: remove the wanted
    ACLs that exist.
    """
    wanted = sort_acls(wanted)
    current_keys = set(acl_key(acl) for acl in current)
    wanted_keys = set(acl_key(acl) for acl in wanted)
    if state == "absent":
        return [], [acl for acl in wanted if acl_key(acl) in current_keys]
    to_add = [acl for acl in wanted if acl_key(acl) not in current_keys]
    exclusive = set(normalize_principal(p) for p in exclusive_principals or [])
    to_remove = [acl for acl in sort_acls(current) if acl["principal"] in exclusive and acl_key(acl) not in wanted_keys]
    return to_add, to_remove


def run(module, admin):
    params = module.params
    if params["state"] == "absent" and params["exclusive_principals"]:
        raise KafkaModuleError(
            "exclusive_principals only works with state=present (it keeps exactly the listed acls of those "
            "principals); to remove all ACLs of a principal use state=present with no acls for it"
        )
    wanted = [normalize_acl(entry) for entry in params["acls"] or []]
    exclusive = sorted(set(normalize_principal(p) for p in params["exclusive_principals"] or []))
    principals = sorted(set(acl["principal"] for acl in wanted) | set(exclusive))
    current = sort_acls(admin.describe_acls_of(principals)) if principals else []
    to_add, to_remove = plan_acls(wanted, current, params["state"], exclusive)

    removed_keys = set(acl_key(acl) for acl in to_remove)
    after = sort_acls([acl for acl in current if acl_key(acl) not in removed_keys] + to_add)
    result = {
        "changed": bool(to_add or to_remove),
        "acls_added": to_add,
        "acls_removed": to_remove,
        "acls": after,
    }
    if result["changed"]:
        result["diff"] = {
            "before": "".join(acl_text(acl) + "\n" for acl in current),
            "after": "".join(acl_text(acl) + "\n" for acl in after),
        }
        if not module.check_mode:
            apply_or_undo(admin, to_add, to_remove)
    return result


def apply_or_undo(admin, to_add, to_remove):
    """Grant first (a principal never goes through a moment without its new ACLs), then revoke.

    When either step fails, what was done is undone: the ACLs this task added are deleted, those it removed are
    created again (creating an ACL that exists changes nothing).
    """
    step = "adding %d ACL(s)" % len(to_add)
    try:
        admin.create_acls(to_add)
        step = "removing %d ACL(s)" % len(to_remove)
        admin.delete_acls(to_remove)
    except KafkaModuleError as exc:
        try:
            admin.create_acls(to_remove)
            admin.delete_acls(to_add)
        except KafkaModuleError as undo_exc:
            raise KafkaModuleError(
                "acls: %s failed (%s), and undoing the change failed too (%s): compare the ACLs with acls_added and "
                "acls_removed of a check-mode run, then run the task again" % (step, exc, undo_exc)
            ) from exc
        raise KafkaModuleError(
            "acls: %s failed (%s); the change was undone, the ACLs are as they were. Run the task again once the "
            "brokers are healthy" % (step, exc)
        ) from exc


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        acls=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                principal=dict(type="str", required=True),
                resource_type=dict(
                    type="str", required=True, choices=["topic", "group", "cluster", "transactional_id"]
                ),
                resource_name=dict(type="str"),
                pattern_type=dict(type="str", choices=["literal", "prefixed"], default="literal"),
                operation=dict(type="str", required=True, choices=ACL_OPERATIONS),
                permission=dict(type="str", choices=["allow", "deny"], default="allow"),
                host=dict(type="str", default="*"),
            ),
        ),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        exclusive_principals=dict(type="list", elements="str", default=[]),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
