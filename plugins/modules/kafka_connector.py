#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_connector
short_description: Create, configure, pause, stop, restart and delete a Kafka Connect connector
version_added: 0.1.0
description:
  - Manages one connector through the Kafka Connect REST API.
  - The whole config is managed. It is compared with what the workers hold (C(GET /connectors/<name>/config),
    ignoring the C(name) key the worker adds), so a changed value, an added key and a key removed from
    O(config) all count as drift. The change is one C(PUT /connectors/<name>/config), which replaces the
    whole config, so a removed key is gone afterwards.
  - Before anything is written, the config is validated by the connector's plugin on the workers
    (C(PUT /connector-plugins/<class>/config/validate)). A rejected config fails the task naming each
    refused field with its errors (RV(validation_errors)), and nothing is changed.
  - After a change the module waits, up to O(wait_timeout), until the connector and all its tasks are RUNNING
    (or PAUSED, or STOPPED with no tasks, for those states). A FAILED connector or task fails the task with
    its trace (RV(failed_parts)). RV(wait_progress) shows each state seen on the way.
  - Values are compared as Connect stores them, as strings. Booleans are written C(true)/C(false) and numbers as
    digits. A list is written comma-separated, and only for a setting the plugin types as C(LIST) (a sink's
    C(topics)). A list given for a single-valued setting (C(topic), C(file), C(tasks.max)) is refused, as is a
    list element that is empty or holds a comma.
  - All or nothing. Everything is validated before the first write. When a call fails after a write (for
    example the pause after a config change answers 500), or the connector or a task fails while the module
    waits for the state, what the task did is put back. The previous config is written again and read back,
    the connector returns to its previous state (RUNNING, PAUSED or STOPPED), and a connector this task
    created is deleted again. The task then fails, saying what was applied (RV(applied)) and what was rolled
    back (RV(rolled_back)).
  - The module only touches the connector named in O(name). It never deletes other connectors. To remove
    connectors that are no longer declared, list them with M(cdc.pipeline.kafka_connector_info) and delete
    each one with O(state=absent), as in the examples. That way each deletion is named in the run and can be
    reviewed with C(--check --diff) first.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka_connect
attributes:
  check_mode:
    support: full
    description:
      - Reads the connector, validates a changed config with the plugin (a read-only request), and reports the
        calls a real run would make in RV(actions). The task reports a change only when a real run would
        change something.
  diff_mode:
    support: full
    description:
      - The connector's state and whole config before and after. Values of secret keys are shown as
        C(********) unless they are a C(${provider:path:key}) reference.
options:
  name:
    description:
      - Connector name. Refused before any request when it is empty, has spaces around it, a control character,
        a slash, backslash, percent sign, question mark, hash or semicolon, or is C(.) or C(..) (the workers' REST
        paths cannot carry these).
    type: str
    required: true
  state:
    description:
      - C(present) creates the connector when it is missing (RUNNING) and keeps its config equal to O(config),
        without changing whether it runs, is paused or stopped. When the config changes, failed tasks are
        restarted so the new config is tried.
      - C(running), C(paused) and C(stopped) also bring the connector to that state. C(running) resumes a paused
        or stopped connector and restarts failed tasks. C(paused) keeps the tasks but stops them processing.
        C(stopped) (Kafka Connect 3.5+) shuts down the connector and all its tasks, as the offsets API needs.
        A connector created in one of these states starts in it (C(initial_state)), so it never runs first.
      - C(restarted) restarts the connector and all its tasks (only the failed ones with
        O(restart_only_failed)) and ends RUNNING. A stopped connector is resumed, which starts it afresh. It
        reports a change on every run, unless O(restart_only_failed) finds nothing failed in a RUNNING connector.
      - C(absent) deletes the connector. Its offsets stay in Kafka (a connector created later under the same
        name continues from them; use M(cdc.pipeline.connect_offsets) to back them up first).
    type: str
    choices: [present, absent, running, paused, stopped, restarted]
    default: present
  config:
    description:
      - The connector's whole config, including C(connector.class). A key set to C(null) is left out, so it is
        removed from the worker's config.
      - Required to create a connector. Without it, only the state of an existing connector is managed.
      - Put secrets in as C(${directory:/run/cdc-secrets/connect:<file>}) references (DirectoryConfigProvider),
        so the config topic holds no secret. A literal value in a secret-looking key (password, secret, token,
        credential, api key, C(*.jaas.config)) draws a warning, is masked in the output and is never returned.
    type: dict
  restart_only_failed:
    description:
      - With O(state=restarted), restart only the connector or tasks that are FAILED (C(onlyFailed=true)). With
        nothing failed, nothing is done and no change is reported.
    type: bool
    default: false
  wait:
    description:
      - Wait after a change until the connector reaches the state (see the description).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the state before failing with the last status seen.
    type: int
    default: 120
notes:
  - Needs Kafka Connect 3.7 or later (C(initial_state)); the pipeline's workers run 4.3/4.4.
  - A new connector continues from offsets left in Kafka by an earlier connector of the same name.
seealso:
  - module: cdc.pipeline.kafka_connector_info
  - module: cdc.pipeline.connect_offsets
"""

EXAMPLES = r"""
- name: JDBC sink into PostgreSQL, password by reference
  cdc.pipeline.kafka_connector:
    url: https://10.0.0.31:8083
    ca_cert: /etc/cdc-pki/connect/ca.pem
    client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
    client_key: /etc/cdc-pki/connect/connect.key
    name: pg-sink
    state: running
    config:
      connector.class: io.debezium.connector.jdbc.JdbcSinkConnector
      tasks.max: 3
      topics.regex: 'cdc\.app\..*'
      connection.url: jdbc:postgresql://10.0.0.41:5432/app?sslmode=verify-full
      connection.username: cdc_sink
      connection.password: "${directory:/run/cdc-secrets/connect:sink-password}"
      insert.mode: upsert
      primary.key.mode: record_key
      delete.enabled: true
  delegate_to: "{{ groups['kafka_connect'][0] }}"

- name: Connection set once for a block, run on a worker with its own certificate
  module_defaults:
    group/cdc.pipeline.kafka_connect:
      url: https://10.0.0.31:8083
      ca_cert: /etc/cdc-pki/connect/ca.pem
      client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
      client_key: /etc/cdc-pki/connect/connect.key
  delegate_to: "{{ groups['kafka_connect'][0] }}"
  become: true  # the key is root:kafka-connect 0640
  block:
    - name: Stop the source before its offsets are restored
      cdc.pipeline.kafka_connector:
        name: scylla-source
        state: stopped

    - name: Restart the sink after a password rotation (DirectoryConfigProvider reads the file at task start)
      cdc.pipeline.kafka_connector:
        name: pg-sink
        state: restarted

- name: Remove connectors that are no longer declared (review with --check --diff first)
  vars:
    declared_connectors: [scylla-source, pg-sink]
  block:
    - name: Connectors on the cluster
      cdc.pipeline.kafka_connector_info:
        url: https://10.0.0.31:8083
        ca_cert: /etc/cdc-pki/connect/ca.pem
        client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
        client_key: /etc/cdc-pki/connect/connect.key
      register: connect_info
      delegate_to: "{{ groups['kafka_connect'][0] }}"

    - name: Delete each undeclared connector by name
      cdc.pipeline.kafka_connector:
        url: https://10.0.0.31:8083
        ca_cert: /etc/cdc-pki/connect/ca.pem
        client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
        client_key: /etc/cdc-pki/connect/connect.key
        name: "{{ item }}"
        state: absent
      loop: "{{ connect_info.connectors | map(attribute='name') | difference(declared_connectors) }}"
      delegate_to: "{{ groups['kafka_connect'][0] }}"
"""

RETURN = r"""
name:
  description: The connector name.
  returned: always
  type: str
  sample: pg-sink
existed:
  description: Whether the connector existed before the task.
  returned: always
  type: bool
  sample: true
actions:
  description:
    - The REST calls made, in order (predicted in check mode). C(create), C(update_config), C(pause),
      C(resume), C(stop), C(restart), C(restart_failed), C(delete).
  returned: always
  type: list
  elements: str
  sample: [update_config, resume]
config_changes:
  description: Config keys added, changed and removed by the task (or that would be, in check mode).
  returned: always
  type: dict
  sample: {"added": ["batch.size"], "changed": ["tasks.max"], "removed": ["errors.tolerance"]}
config:
  description: The connector's config after the task (predicted in check mode), secrets masked.
  returned: when O(state) is not C(absent) and the connector exists or is created
  type: dict
  sample: {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "connection.password": "********"}
connector_state:
  description:
    - The connector's state after the task (UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED, RESTARTING). In check
      mode with a change, the state the run would reach.
  returned: when O(state) is not C(absent)
  type: str
  sample: RUNNING
connector_type:
  description: C(source) or C(sink), as the workers report it.
  returned: when the connector exists after the task
  type: str
  sample: sink
tasks:
  description: The connector's tasks after the task, with the trace of a failed one.
  returned: when O(state) is not C(absent)
  type: list
  elements: dict
  sample: [{"id": 0, "state": "RUNNING", "worker_id": "10.0.0.31:8083"}]
wait_progress:
  description: Each distinct status seen while waiting, with the seconds since the wait began.
  returned: when the module waited
  type: list
  elements: str
  sample: ["0.0s: connector RUNNING; tasks none", "1.0s: connector RUNNING; tasks RUNNING x3"]
waited:
  description: Seconds spent waiting for the state.
  returned: when the module waited
  type: float
  sample: 2.0
validation_errors:
  description: On a rejected config, each refused field with the plugin's errors.
  returned: on failure in validation
  type: dict
  sample: {"tasks.max": ["Invalid value 0 for configuration tasks.max: Value must be at least 1"]}
applied:
  description: On a failure after a write, the calls made before it (they were rolled back, see RV(rolled_back)).
  returned: on failure after a write
  type: list
  elements: str
  sample: [update_config]
rolled_back:
  description: On a failure after a write, what was put back (empty when rolling back failed too).
  returned: on failure after a write
  type: list
  elements: str
  sample: ["the previous config was put back (read back equal)", "the connector was returned to RUNNING"]
failed_parts:
  description: On a failed wait, the connector or tasks that are FAILED, each with its worker and full trace.
  returned: on failure while waiting
  type: list
  elements: dict
  sample:
    - part: task 0
      worker_id: 10.0.0.31:8083
      trace: "org.apache.kafka.connect.errors.ConnectException: ..."
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka_connect import (
    ConnectError,
    check_connector_name,
    connection_argument_spec,
    connector_state,
    failed_parts,
    first_trace_line,
    intended_state,
    mask_config,
    run_module,
    task_list,
    wait_for_target,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import literal_secrets

# Connectors are created with initial_state (Kafka Connect 3.7).
CONNECTOR_MIN_VERSION = (3, 7)
INITIAL_STATE = {
    "present": "RUNNING",
    "running": "RUNNING",
    "restarted": "RUNNING",
    "paused": "PAUSED",
    "stopped": "STOPPED",
}
NO_DRIFT = {"added": [], "changed": [], "removed": []}


def config_value_string(key, value):
    """A wanted value as Connect stores it: true/false, numbers as digits, lists comma-joined.

    A list is only right for a setting of type LIST (validate_with_plugin checks that with the plugin's
    definitions); an element holding a comma, or a list of lists, would be read back as other elements.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, (list, tuple, dict)) or item is None:
                raise ConnectError(
                    "config key %s is a list holding %r: give a flat list of single values (Connect stores it as "
                    "one comma-separated string)" % (key, item)
                )
            text = config_value_string(key, item)
            if "," in text or not text.strip():
                raise ConnectError(
                    "config key %s is a list with the element %r: Connect stores a list as one comma-separated "
                    "string, so an element cannot be empty or hold a comma" % (key, text)
                )
            items.append(text)
        return ",".join(items)
    if isinstance(value, dict):
        raise ConnectError(
            "config key %s holds a mapping: connector configs are flat key/value pairs (write nested settings "
            "as dotted keys)" % key
        )
    return str(value)


def normalise_config(name, config):
    """The wanted config as Connect stores it, without `name`; a null value means the key must be absent."""
    if not isinstance(config, dict):
        raise ConnectError("config must be a mapping of connector settings")
    wanted = {}
    for key, value in config.items():
        if value is not None:
            wanted[str(key)] = config_value_string(key, value)
    given_name = wanted.pop("name", name)
    if given_name != name:
        raise ConnectError("config name %r differs from name %r: leave name out of config" % (given_name, name))
    return wanted


def config_drift(wanted, current):
    """Keys to add, change and remove to turn current (GET .../config) into wanted; `name` is the worker's own."""
    current = dict((key, value) for key, value in (current or {}).items() if key != "name")
    return {
        "added": sorted(key for key in wanted if key not in current),
        "changed": sorted(key for key in wanted if key in current and wanted[key] != current[key]),
        "removed": sorted(key for key in current if key not in wanted),
    }


def drift_keys(drift):
    return sorted(drift["added"] + drift["changed"] + drift["removed"]) if drift else []


def validation_errors(answer):
    """{config key: [errors]} from a validate answer (every key the plugin or the framework refused)."""
    errors = {}
    for entry in (answer or {}).get("configs") or []:
        value = entry.get("value") or {}
        if value.get("errors"):
            errors[value.get("name") or "?"] = list(value["errors"])
    return errors


def validation_message(name, connector_class, errors):
    lines = "; ".join("%s: %s" % (key, " / ".join(errors[key])) for key in sorted(errors))
    return (
        "the workers rejected the config of connector %s (%s) in validation, nothing was changed. %d field(s): %s"
        % (name, connector_class, len(errors), lines)
    )


def plan_connector(state, status, drift, restart_only_failed=False):
    """The REST calls (in order) that take a connector to `state`, and the state to wait for.

    status: GET .../status of the existing connector, or None when it does not exist.
    drift: config_drift() of the wanted config, or None when no config is managed.
    Returns {"actions": [...], "target": RUNNING|PAUSED|STOPPED|None}. Pure: check mode reports exactly this.
    """
    exists = status is not None
    if state == "absent":
        return {"actions": ["delete"] if exists else [], "target": None}
    if not exists:
        return {"actions": ["create"], "target": INITIAL_STATE[state]}
    actions = ["update_config"] if drift_keys(drift) else []
    planners = {
        "present": _plan_present,
        "running": _plan_running,
        "paused": _plan_paused,
        "stopped": _plan_stopped,
        "restarted": _plan_restarted,
    }
    return planners[state](actions, status, restart_only_failed)


def _plan_present(actions, status, _restart_only_failed):
    if actions and failed_parts(status):
        actions.append("restart_failed")  # the new config is the fix: give failed parts a new start
    return {"actions": actions, "target": intended_state(status) if actions else None}


def _plan_running(actions, status, _restart_only_failed):
    if connector_state(status) in ("PAUSED", "STOPPED"):
        actions.append("resume")
    if failed_parts(status):
        actions.append("restart_failed")
    return {"actions": actions, "target": "RUNNING"}


def _plan_paused(actions, status, _restart_only_failed):
    if connector_state(status) != "PAUSED":
        actions.append("pause")
    if failed_parts(status):
        actions.append("restart_failed")  # a failed task stays FAILED through a pause
    return {"actions": actions, "target": "PAUSED"}


def _plan_stopped(actions, status, _restart_only_failed):
    if connector_state(status) != "STOPPED":
        actions.append("stop")  # stopping also ends failed tasks: a stopped connector has none
    return {"actions": actions, "target": "STOPPED"}


def _plan_restarted(actions, status, restart_only_failed):
    """Ends RUNNING, like a restarted service. A stopped connector is resumed: it starts from scratch."""
    current = connector_state(status)
    if current == "STOPPED":
        actions.append("resume")
    elif not restart_only_failed:
        actions.append("restart")
    elif failed_parts(status):
        actions.append("restart_failed")
    if current == "PAUSED":
        actions.append("resume")
    return {"actions": actions, "target": "RUNNING"}


def warn_about_literal_secrets(module, wanted):
    """A warning per literal secret (SecretSafeModule keeps their values out of every result)."""
    for key, _value in literal_secrets(wanted):
        module.warn(
            "config key %s holds a literal secret: put it in a file the secrets agent renders and use "
            "${directory:/run/cdc-secrets/connect:<file>}, so the config topic holds a reference (docs/secrets.md)"
            % key
        )


def list_keys(config):
    """The config keys given as YAML lists."""
    return sorted(str(key) for key, value in (config or {}).items() if isinstance(value, (list, tuple)))


def setting_types(answer):
    """{config key: type} (STRING, LIST, INT, ...) of every setting the plugin defines, from a validate answer."""
    types = {}
    for entry in (answer or {}).get("configs") or []:
        definition = entry.get("definition") or {}
        if definition.get("name") and definition.get("type"):
            types[definition["name"]] = str(definition["type"]).upper()
    return types


def validate_with_plugin(client, name, wanted, given_as_lists=()):
    """The plugin validates the whole config; a list given for a single-valued setting is refused too."""
    body = dict(wanted, name=name)
    answer = client.validate(body)
    types = setting_types(answer)
    for key in given_as_lists:  # first: a joined list is what the plugin's errors would be about
        if key in types and types[key] != "LIST":
            raise ConnectError(
                "config key %s is given as a list, but %s takes one %s value there (it would get %r): give one "
                "value, or a LIST setting (a sink's topics is one); nothing was changed"
                % (key, wanted["connector.class"], types[key], wanted.get(key))
            )
    errors = validation_errors(answer)
    if errors:
        raise ConnectError(
            validation_message(name, wanted["connector.class"], errors), details={"validation_errors": errors}
        )


def apply(client, name, wanted, plan, restart_only_failed, applied):
    """Make the plan's calls in order; each one done is appended to applied."""
    calls = {
        "create": lambda: client.create(name, dict(wanted, name=name), plan["target"]),
        "update_config": lambda: client.put_config(name, dict(wanted, name=name)),
        "pause": lambda: client.pause(name),
        "resume": lambda: client.resume(name),
        "stop": lambda: client.stop(name),
        "restart": lambda: client.restart(name, only_failed=restart_only_failed),
        "restart_failed": lambda: client.restart(name, only_failed=True),
        "delete": lambda: client.delete(name),
    }
    for action in plan["actions"]:
        calls[action]()
        applied.append(action)


STATE_CALLS = ("pause", "resume", "stop")
ROLLBACK_WAIT_S = 60


def failure_text(exc):
    """What went wrong, in one line: the failed parts with their first trace line, or the error."""
    parts = (exc.details or {}).get("failed_parts")
    if parts:
        return "; ".join(
            "%s FAILED on %s: %s" % (item["part"], item.get("worker_id"), first_trace_line(item.get("trace")))
            for item in parts
        )
    return str(exc)


def roll_back(client, module, previous_config, previous_status, applied, failed_action):
    """Put back what the applied (and the failed) calls changed; sentences saying what was put back."""
    params = module.params
    name = params["name"]
    touched = applied + ([failed_action] if failed_action else [])
    if "create" in touched:
        if client.info(name) is not None:
            client.delete(name)
        return ["the connector, new in this task, was deleted again"]
    done = []
    if "update_config" in touched:
        client.put_config(name, dict(previous_config))
        if without_name(client.config(name)) != without_name(previous_config):
            raise ConnectError("the config read back is not the previous one")
        done.append("the previous config was put back (read back equal)")
    previous = intended_state(previous_status)
    if any(action in touched for action in STATE_CALLS):
        {"PAUSED": client.pause, "STOPPED": client.stop, "RUNNING": client.resume}[previous](name)
        done.append("the connector was returned to %s" % previous)
    if done and not failed_parts(previous_status) and (previous != "RUNNING" or previous_status.get("tasks")):
        timeout = min(params["wait_timeout"], ROLLBACK_WAIT_S)
        try:
            wait_for_target(client, name, previous, timeout)
        except ConnectError as exc:
            done.append("but it did not get back to %s within %d s (%s)" % (previous, timeout, failure_text(exc)))
    return done


def apply_or_roll_back(module, client, wanted, plan, previous_config, previous_status):
    """Apply the plan and wait for its state; on a failure put the previous config and state back.

    Returns the status waited for (or None). Raises ConnectError saying what was applied and rolled back.
    """
    params = module.params
    name = params["name"]
    applied, failed_action = [], None
    try:
        for action in plan["actions"]:
            failed_action = action
            apply(
                client,
                name,
                wanted,
                {"actions": [action], "target": plan["target"]},
                params["restart_only_failed"],
                applied,
            )
        failed_action = None
        if params["wait"] and plan["target"]:
            return wait_for_target(client, name, plan["target"], params["wait_timeout"])
        return None
    except ConnectError as exc:
        touched = set(applied + [failed_action])
        if not touched & ({"create", "update_config"} | set(STATE_CALLS)):
            raise  # nothing written that can be put back (a delete, a restart): the error as it is
        with_config = " with the given config" if set(applied + [failed_action]) & {"create", "update_config"} else ""
        what = "connector %s (state=%s%s): %s failed: %s" % (
            name,
            params["state"],
            with_config,
            failed_action or "the wait for %s" % plan["target"],
            failure_text(exc),
        )
        applied_text = ", ".join(applied) or "nothing"
        details = dict(exc.details, applied=list(applied))
        try:
            rolled_back = roll_back(client, module, previous_config, previous_status or {}, applied, failed_action)
        except ConnectError as rollback_exc:
            raise ConnectError(
                "%s. Applied before the failure: %s. Rolling back failed too (%s): the connector now has the "
                "config and state this task gave it; check it with cdc.pipeline.kafka_connector_info and fix it by "
                "hand or run the task again" % (what, applied_text, rollback_exc),
                details=dict(details, rolled_back=[]),
            ) from exc
        raise ConnectError(
            "%s. Applied before the failure: %s; rolled back: %s. Nothing of this task remains; fix the cause "
            "(see failed_parts and the worker log) and run it again"
            % (what, applied_text, ", ".join(rolled_back) or "nothing was needed"),
            details=dict(details, rolled_back=rolled_back),
        ) from exc


def diff_of(name, existed_config, status, wanted, plan, state):
    before = {}
    if existed_config is not None:
        before = {"name": name, "state": connector_state(status), "config": mask_config(without_name(existed_config))}
    if state == "absent":
        return {"before": before, "after": {}}
    after_config = wanted if wanted is not None else without_name(existed_config)
    return {
        "before": before,
        "after": {
            "name": name,
            "state": plan["target"] or connector_state(status),
            "config": mask_config(after_config),
        },
    }


def without_name(config):
    return dict((key, value) for key, value in (config or {}).items() if key != "name")


def check_args(params, wanted, existed):
    if params["wait_timeout"] < 1:
        raise ConnectError("wait_timeout must be at least 1 (seconds)")
    if params["state"] == "absent":
        return
    if wanted is None and not existed:
        raise ConnectError(
            "connector %s does not exist and no config was given: give config (with connector.class) to create it"
            % params["name"]
        )
    if wanted is not None and not wanted.get("connector.class"):
        raise ConnectError("config has no connector.class: give the connector's class (or its alias)")


def read_status(client, name):
    status = client.status(name)
    # A connector created a moment ago by someone else may have no status yet.
    return status if status is not None else {"connector": {"state": "UNASSIGNED"}, "tasks": []}


def run(module, client):
    params = module.params
    name, state = params["name"], params["state"]
    check_connector_name(name)
    client.require_version(CONNECTOR_MIN_VERSION, "kafka_connector")
    wanted = normalise_config(name, params["config"]) if params["config"] is not None else None
    if wanted is not None:
        warn_about_literal_secrets(module, wanted)
    current = client.config(name)
    status = read_status(client, name) if current is not None else None
    check_args(params, wanted, current is not None)

    drift = config_drift(wanted, current) if wanted is not None and state != "absent" else None
    plan = plan_connector(state, status, drift, params["restart_only_failed"])
    if "create" in plan["actions"] or "update_config" in plan["actions"]:
        validate_with_plugin(client, name, wanted, list_keys(params["config"]))  # before any write, in check mode too

    result = {
        "changed": bool(plan["actions"]),
        "name": name,
        "existed": current is not None,
        "actions": plan["actions"],
        "config_changes": drift if drift_keys(drift) else dict(NO_DRIFT),
    }
    waited = None
    if plan["actions"]:
        result["diff"] = diff_of(name, current, status, wanted, plan, state)
        if not module.check_mode:
            waited = apply_or_roll_back(module, client, wanted, plan, current, status)
    if state == "absent":
        return result
    return report_state(module, client, result, plan, wanted, current, status, waited)


def report_state(module, client, result, plan, wanted, current, status, waited=None):
    """connector_state, config, tasks after the task: predicted in check mode, read (after the wait) otherwise."""
    params = module.params
    name = params["name"]
    changed = bool(plan["actions"])
    if module.check_mode or not changed:
        after_status = status
        result["connector_state"] = plan["target"] if changed else connector_state(status)
        result["config"] = mask_config(wanted if changed and wanted is not None else without_name(current))
    else:
        if waited is not None:
            after_status, progress, seconds = waited
            result.update(wait_progress=progress, waited=seconds)
        else:
            after_status = read_status(client, name)
        result["connector_state"] = connector_state(after_status)
        result["config"] = mask_config(without_name(client.config(name)))
    result["tasks"] = task_list(after_status)
    if after_status and after_status.get("type"):
        result["connector_type"] = after_status["type"]
    if failed_parts(after_status) and not module.check_mode:
        module.warn("connector %s has FAILED parts (see tasks): state=running or state=restarted restarts them" % name)
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(
            type="str", choices=["present", "absent", "running", "paused", "stopped", "restarted"], default="present"
        ),
        config=dict(type="dict"),
        restart_only_failed=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=120),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
