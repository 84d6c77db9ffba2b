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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    ACL_OPERATIONS,
    KafkaModuleError,
    acl_key,
    acl_text,
    connection_argument_spec,
    normalize_acl,
    normalize_principal,
    plan_acls,
    run_module,
    sort_acls,
)


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
            # Grant first: a principal never goes through a moment without its new ACLs.
            admin.create_acls(to_add)
            admin.delete_acls(to_remove)
    return result


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
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
