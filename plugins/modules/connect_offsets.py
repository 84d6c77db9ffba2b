#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: connect_offsets
short_description: Back up and restore the offsets of a Kafka Connect connector
version_added: 0.1.0
description:
  - Uses the Kafka Connect offsets API (KIP-875, Kafka Connect 3.6 or later). For a source connector the offsets are
    its source partitions and positions (a ScyllaDB CDC source keeps one per vnode, table and CDC generation). For
    a sink connector they are the committed offsets of its consumer group, per topic partition.
  - O(state=backup) writes a JSON document to O(dest) (mode 0600, written to a temporary file and renamed). It
    holds the schema version, the Kafka cluster id, the Connect version, the connector's name, class and type, the
    sha256 of its config, the UTC time, and the offsets sorted by partition with their count and sha256.
  - A backup writes a new file unless its content is identical to the last backup (every field but the time).
    Then nothing is written and the task reports no change. The older time is kept, which is right, as the
    positions have not moved since then. With a directory as O(dest), files are named
    C(<connector>-<YYYYmmddTHHMMSSZ>.json) and compared with the newest of that connector. With a file, that file
    is replaced.
  - O(state=restore) puts the offsets of O(src) back exactly. A document of another connector name, class or Kafka
    cluster is refused unless O(force). So is a source backup older than O(cdc_log_ttl), because its changes have
    left the CDC log. When the offsets already equal the document, nothing is done.
  - Before anything is stopped or written, the whole document is checked against the connector. A sink's
    offsets must be C({kafka_topic, kafka_partition}) and C({kafka_offset}) with whole numbers of 0 or more. A
    source's must be maps of single values (no nested objects or lists, numbers within a Java long) and, when
    the connector has offsets now, partitions with the keys its partitions have, offsets with at least the keys
    all its offsets have (more are allowed, as the ScyllaDB source writes C(change_id_stream_id) and
    C(change_id_time) only inside a window), and the kinds of values those have (a position kept as a whole
    number of 0 or more cannot come back as C(-1), C(1.5) or C("12")). O(force) does not override these checks.
  - The restore stops the connector (C(PUT /connectors/<name>/stop), state STOPPED with no tasks, as the API
    requires) and writes only what differs with C(PATCH .../offsets). That is the changed and added partitions,
    and a C(null) offset for each partition the backup does not have, which removes it. The offsets are never reset
    wholesale, so the result is exactly the backup. It then reads the offsets back and compares them, and
    returns the connector to the state it had (RUNNING, PAUSED or STOPPED).
  - If the worker refuses a PATCH, or the read-back differs, the partitions written so far are put back as they
    were, read back again, and the connector is returned to its previous state. The task fails, saying that no
    offset was changed. Only if putting the previous offsets back fails too is the connector left STOPPED (its
    positions are then neither the backup's nor the previous ones), and the message says so.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka_connect
attributes:
  check_mode:
    support: full
    description:
      - Backup reads the offsets and reports whether a file would be written. Restore runs every refusal check and
        reports how many partitions would be added, removed or changed (RV(delta)); nothing is stopped or written.
  diff_mode:
    support: full
    description:
      - Backup shows the file and the offsets' count and sha256 before and after. Restore shows up to 50 partitions
        whose offsets would change, with the offset before and after.
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
      - C(backup) writes the offsets to O(dest); C(restore) puts the offsets of O(src) back.
    type: str
    choices: [backup, restore]
    required: true
  dest:
    description:
      - With O(state=backup), a directory (existing) that receives one timestamped file per backup, or a file path
        (its directory must exist) that each backup replaces.
      - In check mode a O(dest) that does not exist yet and does not end in C(.json) is taken as a directory an
        earlier task creates; the result predicts the first backup in it.
    type: path
  src:
    description:
      - With O(state=restore), a document written by O(state=backup).
    type: path
  force:
    description:
      - Restore a document of another connector name or class, another Kafka cluster, or a source backup older than
        O(cdc_log_ttl). Each reason is still reported as a warning. After a forced restore past the TTL,
        RV(reconciliation_needed) is true. The changes between the saved positions and the oldest entry left in the
        CDC log were never read, so the tables must be compared or copied again for that period.
    type: bool
    default: false
  cdc_log_ttl:
    description:
      - Seconds the source keeps its change log, the C(ttl) of the ScyllaDB table option C(cdc) (default 86400, one
        day). A source backup older than this is refused. C(0) turns the check off (a log that never expires, or a
        source that is not a CDC log). Sink backups are not checked; their limit is the topics' retention.
    type: int
    default: 86400
  keep_count:
    description:
      - With O(state=backup) and a directory as O(dest), keep at most this many backup files of the connector,
        the newest ones (C(0), the default, keeps every file). Files of other connectors are never touched.
    type: int
    default: 0
  keep_days:
    description:
      - With O(state=backup) and a directory as O(dest), delete the connector's backup files older than this many
        days (by the time in their name; C(0), the default, keeps every file).
      - The newest file is always kept, whatever its age. The offsets of an idle connector do not move, so no newer
        file is written and that file is still its current backup.
    type: int
    default: 0
  wait_timeout:
    description:
      - Seconds to wait for the connector to stop, and to return to its state after a restore.
    type: int
    default: 120
notes:
  - The backup time is when the backup ran, not how old the saved positions are. A source that lagged then holds
    older positions. Keep a margin below the real CDC TTL, or take the backup with the connector paused.
  - Restoring needs the connector to exist. In a rebuild, create it with M(cdc.pipeline.kafka_connector)
    C(state=stopped) first (it then never runs from the wrong position), restore, then set C(state=running).
seealso:
  - module: cdc.pipeline.kafka_connector
"""

EXAMPLES = r"""
- name: Back up the source's offsets (one file per change of position)
  cdc.pipeline.connect_offsets:
    url: https://10.0.0.31:8083
    ca_cert: /etc/cdc-pki/connect/ca.pem
    client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
    client_key: /etc/cdc-pki/connect/connect.key
    name: scylla-source
    state: backup
    dest: /var/backups/cdc-offsets
  delegate_to: "{{ groups['kafka_connect'][0] }}"
  register: offsets_backup

- name: Put the source back where the backup was (refused past the CDC log TTL)
  cdc.pipeline.connect_offsets:
    url: https://10.0.0.31:8083
    ca_cert: /etc/cdc-pki/connect/ca.pem
    client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
    client_key: /etc/cdc-pki/connect/connect.key
    name: scylla-source
    state: restore
    src: "{{ offsets_backup.path }}"
    cdc_log_ttl: "{{ cdc_log_ttl }}"  # group_vars/all: the TTL the scylla role set on the tables
  delegate_to: "{{ groups['kafka_connect'][0] }}"
"""

RETURN = r"""
path:
  description:
    - With O(state=backup), the backup file that holds the offsets (the new one, or the earlier identical one).
      With O(state=restore), O(src).
  returned: always
  type: str
  sample: /var/backups/cdc-offsets/scylla-source-20261127T030000Z.json
partition_count:
  description: Partitions in the document (written or restored).
  returned: always
  type: int
  sample: 7680
removed:
  description: With O(keep_count) or O(keep_days), the backup files deleted (that would be, in check mode).
  returned: when O(state=backup) and O(dest) is a directory
  type: list
  elements: str
  sample: [/var/backups/cdc-offsets/scylla-source-20261120T030000Z.json]
created_at:
  description: UTC time of the document (of the earlier one when an identical backup is kept).
  returned: always
  type: str
  sample: "2026-11-27T03:00:00Z"
connector_type:
  description: C(source) or C(sink).
  returned: always
  type: str
  sample: source
delta:
  description: With O(state=restore), how many partitions the restore adds, removes, changes or leaves unchanged.
  returned: when O(state=restore)
  type: dict
  sample: {"added": 0, "removed": 12, "changed": 7668, "unchanged": 0}
previous_state:
  description: With O(state=restore), the state the connector had, and is returned to (RUNNING, PAUSED, STOPPED).
  returned: when O(state=restore)
  type: str
  sample: RUNNING
connector_state:
  description: With O(state=restore), the connector's state at the end (predicted in check mode).
  returned: when O(state=restore)
  type: str
  sample: RUNNING
reconciliation_needed:
  description: With O(state=restore), true when a source backup older than O(cdc_log_ttl) was restored with O(force).
  returned: when O(state=restore)
  type: bool
  sample: false
wait_progress:
  description: Each distinct status seen while the connector stopped and came back.
  returned: when a restore changed the offsets
  type: list
  elements: str
offsets_restored:
  description:
    - On a failed restore, whether the backup's offsets are in place (true only when the offsets were written and
      read back equal but the connector could not be returned to its previous state).
  returned: on failure after the connector was stopped
  type: bool
  sample: false
"""

import datetime
import os

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.connect_offsets_document import (
    backup_file_name,
    backups_in,
    build_offsets_document,
    config_sha256,
    as_index,
    normalise_offsets,
    offsets_delta,
    offsets_equal,
    offsets_patch,
    offsets_shape_problems,
    offsets_undo,
    problems_text,
    read_json_file,
    read_json_if_any,
    restore_refusals,
    retention_victims,
    same_backup_content,
    ttl_refusal,
    validate_offsets_document,
    write_json_atomic,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka_connect import (
    PATCH_CHUNK,
    ConnectError,
    check_connector_name,
    connection_argument_spec,
    connector_state,
    intended_state,
    run_module,
    wait_for_target,
)

# The offsets API's PATCH and DELETE need Kafka Connect 3.6.
OFFSETS_MIN_VERSION = (3, 6)
DIFF_PARTITIONS = 50
# The worker answers GET offsets from its offset store, which can still be reading back a large PATCH
# it has just written (seen: 9,307 of 10,000 partitions, on a loaded machine). The read-back is asked
# again for this long before it counts as different.
READ_BACK_SETTLE_S = 30
READ_BACK_INTERVAL_S = 1


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def existing_connector(client, name, what):
    info = client.info(name)
    if info is None:
        raise ConnectError("there is no connector %s on the workers at %s: %s" % (name, client.url, what))
    return info


# -- backup -------------------------------------------------------------------------------------


def backup_target(dest, name, now, directory_to_come=False):
    """(path to write, earlier backup to compare with or None, whether path may replace a file).

    directory_to_come: dest does not exist yet but is a directory an earlier task creates (check mode).
    """
    if directory_to_come:
        return os.path.join(dest, backup_file_name(name, now, 0)), None, False
    if os.path.isdir(dest):
        earlier = backups_in(dest, name)
        sequence = 0
        while os.path.exists(os.path.join(dest, backup_file_name(name, now, sequence))):
            sequence += 1
        return os.path.join(dest, backup_file_name(name, now, sequence)), (earlier[-1] if earlier else None), False
    directory = os.path.dirname(os.path.abspath(dest))
    if dest.endswith(os.sep) or not os.path.isdir(directory):
        raise ConnectError(
            "dest %s: its directory does not exist; create it first (mode 0700, it will hold connector positions)"
            % dest
        )
    return dest, (dest if os.path.exists(dest) else None), True


def backup(module, client):
    params = module.params
    name, dest = params["name"], params["dest"]
    if not dest:
        raise ConnectError("state=backup needs dest (a directory or a file path)")
    worker = client.worker()
    info = existing_connector(client, name, "nothing to back up")
    now = utc_now()
    document = build_offsets_document(worker, info, client.offsets(name), now)
    # In check mode the task that creates the backup directory has not run: a dest that does not exist and
    # is not a .json file is that directory, and the first backup in it is the prediction.
    directory_to_come = module.check_mode and not os.path.exists(dest) and not dest.endswith(".json")
    path, earlier, replace = backup_target(dest, name, now, directory_to_come)
    if replace and (params["keep_count"] or params["keep_days"]):
        raise ConnectError("keep_count and keep_days apply to a directory dest: %s is a file path" % dest)
    earlier_document = read_json_if_any(earlier) if earlier else None
    result = {
        "partition_count": document["partition_count"],
        "connector_type": document["connector"]["type"],
    }
    if same_backup_content(earlier_document, document):
        result.update(changed=False, path=earlier, created_at=earlier_document["created_at"])
    else:
        result.update(changed=True, path=path, created_at=document["created_at"])
        result["diff"] = {
            "before": backup_summary(earlier, earlier_document),
            "after": backup_summary(path, document),
        }
        if not module.check_mode:
            try:
                write_json_atomic(path, document, replace=replace)
            except ConnectError as exc:
                raise ConnectError(
                    "dest %s: %s; nothing was written. Give a dest this user can write (or run with become: true)"
                    % (dest, exc)
                ) from exc
    if not replace:
        result["removed"] = apply_retention(module, dest, name, result["path"], now)
        result["changed"] = result["changed"] or bool(result["removed"])
    return result


def apply_retention(module, directory, name, newest, now):
    """Delete the connector's backups that keep_count/keep_days let go (none in check mode); returns their paths."""
    params = module.params
    if not (params["keep_count"] or params["keep_days"]):
        return []
    files = backups_in(directory, name) if os.path.isdir(directory) else []
    if newest not in files:
        files.append(newest)  # check mode: the file a real run would have written
    victims = retention_victims(files, params["keep_count"], params["keep_days"], now)
    if not module.check_mode:
        for path in victims:
            try:
                os.unlink(path)
            except OSError as exc:
                raise ConnectError("cannot delete old backup %s: %s" % (path, exc)) from exc
    return victims


def backup_summary(path, document):
    if not document:
        return {}
    return {
        "path": path,
        "partition_count": document.get("partition_count"),
        "offsets_sha256": document.get("offsets_sha256"),
        "config_sha256": (document.get("connector") or {}).get("config_sha256"),
    }


# -- restore ------------------------------------------------------------------------------------


def refuse_or_warn(module, reasons, force):
    if not reasons:
        return
    if not force:
        raise ConnectError("refusing to restore: %s. Set force=true to restore anyway" % "; ".join(reasons))
    for reason in reasons:
        module.warn("restoring anyway (force=true): %s" % reason)


def offsets_diff(name, current, wanted):
    """Up to DIFF_PARTITIONS partitions whose offsets differ, before and after (partition as canonical JSON)."""
    have, want = as_index(current), as_index(wanted)
    keys = sorted(key for key in set(have) | set(want) if have.get(key) != want.get(key))[:DIFF_PARTITIONS]
    return {
        "before": {"connector": name, "partitions": len(have), "offsets": dict((k, have.get(k)) for k in keys)},
        "after": {"connector": name, "partitions": len(want), "offsets": dict((k, want.get(k)) for k in keys)},
    }


def stop_connector(client, name, timeout, progress):
    status = client.status(name)
    if connector_state(status) == "STOPPED" and not (status or {}).get("tasks"):
        return
    client.stop(name)
    _status, seen, _waited = wait_for_target(client, name, "STOPPED", timeout)
    progress.extend("stop %s" % line for line in seen)


def return_to(client, name, previous, timeout, progress):
    if previous == "STOPPED":
        return "STOPPED"
    if previous == "PAUSED":
        client.pause(name)
    else:
        client.resume(name)
    status, seen, _waited = wait_for_target(client, name, previous, timeout)
    progress.extend("%s %s" % (previous.lower(), line) for line in seen)
    return connector_state(status)


def return_after_failure(client, name, previous, timeout, progress):
    """Bring the connector back to previous after a failed restore; a sentence saying whether it got there."""
    try:
        return_to(client, name, previous, timeout, progress)
    except ConnectError as exc:
        return "it was NOT returned to %s (%s)" % (previous, exc)
    return "the connector was returned to %s" % previous


def read_back_equals(client, name, expected):
    """Whether the worker's offsets equal expected, asked again for READ_BACK_SETTLE_S; (equal, last read index)."""
    expected = as_index(expected)
    read_back = as_index(normalise_offsets(client.offsets(name)))
    deadline = client.clock() + READ_BACK_SETTLE_S
    while read_back != expected and client.clock() < deadline:
        client.sleep(READ_BACK_INTERVAL_S)
        read_back = as_index(normalise_offsets(client.offsets(name)))
    return read_back == expected, read_back


class RestoreFailed(ConnectError):
    """The offsets could not be written or read back as the backup; touched: the PATCH entries sent."""

    def __init__(self, message, touched, details=None):
        super(RestoreFailed, self).__init__(message, details=details)
        self.touched = touched


def write_offsets(client, name, patch, wanted):
    """PATCH only what changes (chunk by chunk), then read back until the offsets equal wanted.

    Nothing is reset first: a partition the backup lacks is removed by its null entry in the same PATCH, so a
    PATCH the worker refuses leaves the offsets as they were.
    """
    sent = []
    for start in range(0, len(patch), PATCH_CHUNK):
        chunk = patch[start : start + PATCH_CHUNK]
        sent.extend(chunk)
        try:
            client.alter_offsets(name, chunk)
        except ConnectError as exc:
            raise RestoreFailed(str(exc), sent) from exc
    equal, read_back = read_back_equals(client, name, wanted)
    if not equal:
        delta = offsets_delta(read_back, wanted)
        raise RestoreFailed(
            "the offsets read back after the PATCH differ from the backup (%s)" % delta, sent, details={"delta": delta}
        )


def roll_back_offsets(client, name, previous, touched):
    """Put the touched partitions back as in previous; (done, sentence saying what was done)."""
    try:
        if offsets_equal(normalise_offsets(client.offsets(name)), previous):
            return True, "no offset was changed"
        undo = offsets_undo(previous, touched)
        for start in range(0, len(undo), PATCH_CHUNK):
            client.alter_offsets(name, undo[start : start + PATCH_CHUNK])
        equal, read_back = read_back_equals(client, name, previous)
    except ConnectError as exc:
        return False, "putting the previous offsets back failed too (%s)" % exc
    if not equal:
        return False, "putting the previous offsets back did not take (%s)" % offsets_delta(read_back, previous)
    return True, "the previous offsets were put back and read back equal (%d partitions)" % len(previous)


def restore_document(module, client):
    """The validated backup of src, its refusals checked: (document, info, worker); nothing written."""
    params = module.params
    name, src = params["name"], params["src"]
    if not src:
        raise ConnectError("state=restore needs src (a file written by state=backup)")
    try:
        document = validate_offsets_document(read_json_file(src))
    except ConnectError as exc:
        raise ConnectError("src %s: %s; nothing was changed" % (src, exc)) from exc
    worker = client.worker()
    info = existing_connector(
        client,
        name,
        "create it first with cdc.pipeline.kafka_connector state=stopped (so it never runs from the wrong position), "
        "then restore",
    )
    return document, info, worker


def restore(module, client):
    params = module.params
    name, src = params["name"], params["src"]
    document, info, worker = restore_document(module, client)
    config = info.get("config") or {}
    connector_type = info.get("type")
    refuse_or_warn(
        module,
        restore_refusals(document, name, config.get("connector.class"), worker.get("kafka_cluster_id")),
        params["force"],
    )
    too_old = ttl_refusal(document, connector_type, params["cdc_log_ttl"], utc_now())
    refuse_or_warn(module, [too_old] if too_old else [], params["force"])
    if document["connector"].get("config_sha256") != config_sha256(config):
        module.warn(
            "the connector's config changed since the backup (config_sha256 differs): check that the saved positions "
            "still mean the same (same tables, same topics)"
        )

    wanted = document["offsets"]
    current = normalise_offsets(client.offsets(name))
    problems = offsets_shape_problems(wanted, connector_type, current)
    if problems:  # force does not override these: the worker would refuse them, or the connector misread them
        raise ConnectError(
            "src %s cannot be restored into %s connector %s, nothing was changed: %s"
            % (src, connector_type, name, problems_text(problems))
        )
    status = client.status(name)
    previous = intended_state(status)
    have, want = as_index(current), as_index(wanted)
    result = {
        "path": src,
        "partition_count": document["partition_count"],
        "created_at": document["created_at"],
        "connector_type": connector_type,
        "delta": offsets_delta(have, want),
        "previous_state": previous,
        "reconciliation_needed": bool(too_old),
        "changed": have != want,
    }
    if not result["changed"]:
        result["connector_state"] = connector_state(status)
        return result
    result["diff"] = offsets_diff(name, have, want)
    if module.check_mode:
        result["connector_state"] = previous
        return result
    progress = []
    apply_restore(client, module, current, wanted, previous, progress)
    try:
        result["connector_state"] = return_to(client, name, previous, params["wait_timeout"], progress)
    except ConnectError as exc:
        raise ConnectError(
            "the offsets of src %s were restored into connector %s and read back equal (%s), but returning it to %s "
            "failed: %s. Bring it back with cdc.pipeline.kafka_connector state=%s"
            % (src, name, result["delta"], previous, exc, previous.lower()),
            details=dict(exc.details, wait_progress=progress, delta=result["delta"], offsets_restored=True),
        ) from exc
    result["wait_progress"] = progress
    return result


def apply_restore(client, module, current, wanted, previous, progress):
    """Stop, write the changes, verify; on any failure put the previous offsets and state back and say so."""
    params = module.params
    name, src, timeout = params["name"], params["src"], params["wait_timeout"]
    try:
        stop_connector(client, name, timeout, progress)
    except ConnectError as exc:
        returned = return_after_failure(client, name, previous, timeout, progress)
        raise ConnectError(
            "restore of src %s into connector %s: stopping it failed (%s); no offset was changed and %s"
            % (src, name, exc, returned),
            details={"wait_progress": progress, "offsets_restored": False},
        ) from exc
    try:
        write_offsets(client, name, offsets_patch(current, wanted), wanted)
    except RestoreFailed as exc:
        rolled_back, what = roll_back_offsets(client, name, current, exc.touched)
        details = dict(exc.details, wait_progress=progress, offsets_restored=False)
        if not rolled_back:
            raise ConnectError(
                "restore of src %s into connector %s failed: %s; %s. Its offsets are neither the backup's nor the "
                "previous ones, so it is left STOPPED and does not run from wrong positions: run the restore again "
                "(from this backup or a newer one), then check the worker log (connect.log)" % (src, name, exc, what),
                details=details,
            ) from exc
        returned = return_after_failure(client, name, previous, timeout, progress)
        raise ConnectError(
            "restore of src %s into connector %s failed: %s; %s, and %s. Nothing of the backup was applied: fix "
            "the cause (the worker log, connect.log, says more) and run the restore again"
            % (src, name, exc, what, returned),
            details=details,
        ) from exc


def run(module, client):
    params = module.params
    check_connector_name(params["name"])
    if params["wait_timeout"] < 1:
        raise ConnectError("wait_timeout must be at least 1 (seconds)")
    if params["cdc_log_ttl"] < 0:
        raise ConnectError("cdc_log_ttl must be 0 (no check) or a number of seconds")
    if params["keep_count"] < 0 or params["keep_days"] < 0:
        raise ConnectError("keep_count and keep_days must be 0 (keep every file) or more")
    client.require_version(OFFSETS_MIN_VERSION, "connect_offsets (the offsets API)")
    result = {"name": params["name"]}
    result.update(backup(module, client) if params["state"] == "backup" else restore(module, client))
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["backup", "restore"], required=True),
        dest=dict(type="path"),
        src=dict(type="path"),
        force=dict(type="bool", default=False),
        cdc_log_ttl=dict(type="int", default=86400),
        keep_count=dict(type="int", default=0),
        keep_days=dict(type="int", default=0),
        wait_timeout=dict(type="int", default=120),
    )
    module = SecretSafeModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "backup", ["dest"]), ("state", "restore", ["src"])],
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
