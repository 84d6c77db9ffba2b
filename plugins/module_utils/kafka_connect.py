# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared logic of the cdc.pipeline Kafka Connect modules (kafka_connector, kafka_connector_info, connect_offsets).

One place for: the connection options, a small REST client over the standard library (HTTPS with
a client certificate, HTTP 409 "rebalance in progress" retried with a bounded backoff, every
failure worded as ONE message naming the fix), the pure decisions the modules make (config
normalisation and drift, secret masking, which REST calls a desired state needs, when a connector
has reached a state), and the offsets backup document (build, validate, compare, write).
Nothing here calls fail_json: errors are raised as ConnectError.

Kafka Connect facts relied on (apache/kafka docs/connect.html, checked against 4.3/4.4):
- GET /connectors/{n}/config holds every key as a string, plus `name`, which the worker adds.
- PUT /connectors/{n}/config replaces the whole config, so a key left out is removed.
- POST /connectors takes `initial_state` (3.7+); PUT .../stop (3.5+); offsets GET (3.5+),
  PATCH and DELETE (3.6+) only while the connector is STOPPED.
- 409 means a rebalance is in progress (or the config is being written): retry later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import re
import socket
import ssl
import tempfile
import time
from http.client import BadStatusLine, HTTPException, RemoteDisconnected
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import HTTPSHandler, ProxyHandler, Request, build_opener

from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import mask_secrets
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import run_module as run_client_module
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import tls_file_problem

# kafka_connector creates connectors with initial_state (Kafka Connect 3.7); the offsets API
# PATCH/DELETE needs 3.6.
CONNECTOR_MIN_VERSION = (3, 7)
OFFSETS_MIN_VERSION = (3, 6)
# 409 retries: 0.5, 1, 2, 4, 8, 8 ... seconds, for at most this long in all.
CONFLICT_RETRY_S = 60
CONFLICT_FIRST_DELAY_S = 0.5
CONFLICT_MAX_DELAY_S = 8
# A read (GET) answered 500/503/504 is retried within the same bound: the worker answers 500 when
# it could not read its offsets or config topic in time (a broker restarting, a loaded cluster),
# which a second read usually gets past. Writes are never retried on 5xx: they may have applied.
TRANSIENT_READ_STATUSES = (500, 503, 504)
# Waiting for a state: poll every second; a state counts once two polls at least SETTLE_S apart
# agree (a status read right after a change can still show the previous generation), and a FAILED
# task only after FAILED_CONFIRM_S (a restarted task reads FAILED until its restart is recorded).
POLL_INTERVAL_S = 0.5
SETTLE_S = 1.0
FAILED_CONFIRM_S = 3.0
TARGET_STATES = ("RUNNING", "PAUSED", "STOPPED")
# Offsets backup document.
DOCUMENT_FORMAT = "cdc.pipeline.connect_offsets"
DOCUMENT_SCHEMA_VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# One PATCH carries at most this many partitions (a ScyllaDB source keeps thousands).
PATCH_CHUNK = 5000

URL_FIX = (
    "Check url (https://<worker>:8083), that the worker runs, and that the firewall lets this host reach the "
    "REST port (8083 is open to the admin ranges and the workers)"
)
CA_PURPOSE = (
    "the CA that signed the workers' REST certificate (the pipeline root CA, /etc/cdc-pki/connect/ca.pem on a worker)"
)
CA_FIX = "set ca_cert to " + CA_PURPOSE
CLIENT_CERT_FIX = (
    "set client_cert and client_key to a certificate signed by the pipeline CA (the workers require one: "
    "listeners.https.ssl.client.auth=required); on a worker, as root: /etc/cdc-pki/connect/connect-fullchain.pem "
    "and connect.key"
)


class ConnectError(Exception):
    """A failure already worded for the operator. details: extra result keys for fail_json."""

    def __init__(self, message, status=None, details=None):
        super(ConnectError, self).__init__(message)
        self.status = status
        self.details = details or {}


def connection_argument_spec():
    """The options of the cdc.pipeline.kafka_connect doc fragment."""
    return dict(
        url=dict(type="str", required=True),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=30),
    )


def validate_connection_params(params):
    """The base URL without a trailing slash; refuses incomplete settings before any request."""
    url = (params.get("url") or "").strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", url):
        raise ConnectError(
            "url %r is not a Kafka Connect REST address: give it as https://<worker>:8083 (scheme, host, port, "
            "no path)" % params.get("url")
        )
    timeout = params.get("timeout")
    if timeout is not None and timeout < 1:
        raise ConnectError("timeout must be at least 1 (seconds)")
    problem = tls_file_problem(params, CA_PURPOSE, where="on this host")
    if problem:
        raise ConnectError(problem)
    return url


def connection_warnings(params):
    warnings = []
    if not params.get("validate_certs", True):
        warnings.append("validate_certs=false: the worker's certificate is not checked; only for debugging")
    if (params.get("url") or "").startswith("http://"):
        warnings.append("url is plain http://: the pipeline's workers serve HTTPS only (docs/kafka.md)")
    return warnings


# --------------------------------------------------------------------------------------------
# Error wording
# --------------------------------------------------------------------------------------------

_CLIENT_CERT_ALERTS = (
    "alert bad certificate",
    "certificate required",
    "alert unknown ca",
    "certificate unknown",
    "alert handshake failure",
    "alert access denied",
)
_NOT_TLS_HINTS = ("wrong version number", "record layer failure", "packet length too long", "unknown protocol")


def describe_transport_error(exc, url, params, timeout):  # noqa: PLR0911 - one exit per failure kind
    """One message naming the fix for a failure below HTTP (TLS, connection, DNS, timeout)."""
    reason = getattr(exc, "reason", None) if isinstance(exc, URLError) else exc
    reason = exc if reason is None else reason
    detail = str(reason) or type(reason).__name__
    lowered = detail.lower()
    if isinstance(reason, ssl.SSLCertVerificationError) or "certificate verify failed" in lowered:
        if "mismatch" in lowered or "doesn't match" in lowered:
            return (
                "TLS verification of %s failed (%s): the worker's certificate does not name this address; use a "
                "name or address from its subjectAltName (kafka_connect_advertised_host)" % (url, detail)
            )
        return "TLS verification of %s failed (%s): %s" % (url, detail, CA_FIX)
    if any(alert in lowered for alert in _CLIENT_CERT_ALERTS):
        if not params.get("client_cert"):
            return "Kafka Connect at %s refused the TLS handshake (%s): no client certificate was given; %s" % (
                url,
                detail,
                CLIENT_CERT_FIX,
            )
        return (
            "Kafka Connect at %s refused the client certificate %s (%s): it must be signed by a CA the workers "
            "trust (their truststore holds the pipeline root CA); %s"
            % (url, params["client_cert"], detail, CLIENT_CERT_FIX)
        )
    if any(hint in lowered for hint in _NOT_TLS_HINTS):
        return (
            "%s does not answer TLS (%s): the port serves plain HTTP or another protocol; point url at the REST "
            "listener (https://<worker>:8083)" % (url, detail)
        )
    if isinstance(reason, BadStatusLine) and str(reason)[:2] in ("\x15\x03", "\x16\x03"):
        # A TLS record (alert or handshake) where an HTTP status line was expected.
        return "Kafka Connect at %s answered plain HTTP with TLS: the listener speaks HTTPS; use https:// in url" % (
            url
        )
    if isinstance(reason, (RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        if url.startswith("http://"):
            return "Kafka Connect at %s closed the connection (%s): the listener speaks HTTPS; use https:// in url" % (
                url,
                detail,
            )
        return (
            "Kafka Connect at %s closed the connection during the request (%s): the worker refused this client in "
            "the TLS handshake or is restarting; %s" % (url, detail, CLIENT_CERT_FIX)
        )
    if isinstance(reason, socket.timeout) or "timed out" in lowered:
        return "Kafka Connect at %s did not answer within %s s. %s" % (url, timeout, URL_FIX)
    if isinstance(reason, ssl.SSLError):
        return "TLS handshake with %s failed (%s): check ca_cert, client_cert and client_key" % (url, detail)
    return "cannot reach Kafka Connect at %s (%s). %s" % (url, detail, URL_FIX)


def error_text(payload):
    """The worker's message from an error body ({"error_code": .., "message": ..}) or the raw text."""
    if isinstance(payload, dict):
        return " ".join(str(payload.get("message") or payload.get("_raw") or payload).split())
    return " ".join(str(payload or "").split())


def describe_http_error(status, payload, method, path, url):
    text = error_text(payload)
    where = "%s %s" % (method, path)
    if status == 409:
        return (
            "Kafka Connect at %s kept answering 409 to %s for %d s (%s): the workers are rebalancing without end; "
            "check that every worker runs and sees the same config topic, then retry"
            % (url, where, CONFLICT_RETRY_S, text)
        )
    if status == 404:
        return "Kafka Connect at %s has nothing at %s (%s)" % (url, where, text)
    if status in (401, 403):
        return "Kafka Connect at %s refused %s (HTTP %d: %s): %s" % (url, where, status, text, CLIENT_CERT_FIX)
    if status >= 500:
        return "Kafka Connect at %s failed %s (HTTP %d: %s); see the worker log (connect.log)" % (
            url,
            where,
            status,
            text,
        )
    return "Kafka Connect at %s rejected %s (HTTP %d: %s)" % (url, where, status, text)


def already_exists(payload):
    return "already exists" in error_text(payload).lower()


# --------------------------------------------------------------------------------------------
# REST client
# --------------------------------------------------------------------------------------------


def ssl_context(params):
    """The client's TLS settings: the CA (or the system store), verification, the client certificate."""
    try:
        context = ssl.create_default_context(cafile=params.get("ca_cert") or None)
    except (ssl.SSLError, OSError) as exc:
        raise ConnectError("cannot load ca_cert %s (%s): %s" % (params.get("ca_cert"), exc, CA_FIX)) from exc
    if not params.get("validate_certs", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if params.get("client_cert"):
        try:
            context.load_cert_chain(params["client_cert"], params["client_key"])
        except PermissionError as exc:
            raise ConnectError(
                "cannot read client_cert %s or client_key %s as this user (%s): on a worker the key is "
                "root:kafka-connect 0640, run the task with become: true"
                % (params["client_cert"], params["client_key"], exc)
            ) from exc
        except (ssl.SSLError, OSError) as exc:
            raise ConnectError(
                "cannot load client_cert %s with client_key %s (%s): give the PEM certificate and its unencrypted "
                "PEM key" % (params["client_cert"], params["client_key"], exc)
            ) from exc
    return context


class UrllibTransport(object):
    """Sends one request: (status, body bytes). HTTP errors are answers; anything below HTTP is a ConnectError."""

    def __init__(self, params):
        self.params = params
        self._opener = None

    def opener(self):
        if self._opener is None:
            # Workers are reached directly: a proxy from the environment would only get in the way.
            self._opener = build_opener(ProxyHandler({}), HTTPSHandler(context=ssl_context(self.params)))
        return self._opener

    def __call__(self, method, url, data, timeout):
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = Request(url, data=data, method=method, headers=headers)
        parts = urlsplit(url)
        base = "%s://%s" % (parts.scheme, parts.netloc)
        try:
            with self.opener().open(request, timeout=timeout) as response:
                return response.status, response.read()
        except HTTPError as exc:
            return exc.code, exc.read()
        except (URLError, OSError, HTTPException) as exc:
            # OSError covers ssl.SSLError and resets raised while reading the answer (urllib does not wrap those).
            raise ConnectError(describe_transport_error(exc, base, self.params, timeout)) from exc


def parse_body(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}


def version_tuple(text):
    match = re.match(r"^(\d+)\.(\d+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def path_of(name):
    return "/connectors/" + quote(name, safe="")


class ConnectClient(object):
    """Kafka Connect REST calls; every answer parsed, every failure a ConnectError that names the fix."""

    def __init__(self, params, transport=None, sleep=time.sleep, clock=time.monotonic):
        self.url = validate_connection_params(params)
        self.timeout = params.get("timeout") or 30
        self.transport = transport or UrllibTransport(params)
        self.sleep = sleep
        self.clock = clock
        self.conflict_retries = 0
        self.read_retries = 0
        self._worker = None

    def request(self, method, path, body=None, missing_ok=False):
        """The parsed answer; None for a 404 when missing_ok.

        A 409 (rebalance), and a 5xx answer to a GET, are retried with backoff for CONFLICT_RETRY_S.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        deadline = self.clock() + CONFLICT_RETRY_S
        delay = CONFLICT_FIRST_DELAY_S
        while True:
            status, raw = self.transport(method, self.url + path, data, self.timeout)
            payload = parse_body(raw)
            retryable = (status == 409 and not already_exists(payload)) or (
                method == "GET" and status in TRANSIENT_READ_STATUSES
            )
            if not retryable or self.clock() >= deadline:
                break
            if status == 409:
                self.conflict_retries += 1
            else:
                self.read_retries += 1
            self.sleep(min(delay, max(0.0, deadline - self.clock())))
            delay = min(delay * 2, CONFLICT_MAX_DELAY_S)
        if 200 <= status < 300:
            return payload
        if status == 404 and missing_ok:
            return None
        raise ConnectError(describe_http_error(status, payload, method, path, self.url), status=status)

    # -- the worker -----------------------------------------------------------------------------

    def worker(self):
        """GET /: version, commit, kafka_cluster_id (read once; also proves the connection works)."""
        if self._worker is None:
            self._worker = self.request("GET", "/") or {}
        return self._worker

    def require_version(self, minimum, what):
        version = self.worker().get("version")
        found = version_tuple(version)
        if found is not None and found < minimum:
            raise ConnectError(
                "%s needs Kafka Connect %d.%d or later; the worker at %s runs %s: upgrade the workers"
                % (what, minimum[0], minimum[1], self.url, version)
            )

    def plugins(self):
        return self.request("GET", "/connector-plugins?connectorsOnly=true") or []

    # -- connectors ---------------------------------------------------------------------------

    def connectors_expanded(self):
        """{name: {"status": .., "info": ..}} of every connector, in one request."""
        return self.request("GET", "/connectors?expand=status&expand=info") or {}

    def info(self, name):
        return self.request("GET", path_of(name), missing_ok=True)

    def config(self, name):
        return self.request("GET", path_of(name) + "/config", missing_ok=True)

    def status(self, name):
        return self.request("GET", path_of(name) + "/status", missing_ok=True)

    def validate(self, config):
        connector_class = config["connector.class"]
        path = "/connector-plugins/%s/config/validate" % quote(connector_class, safe="")
        try:
            return self.request("PUT", path, config)
        except ConnectError as exc:
            text = str(exc).lower()
            if "find any class" in text or "classnotfound" in text or exc.status == 404:
                raise ConnectError(self._unknown_class_message(connector_class, exc), status=exc.status) from exc
            raise

    def _unknown_class_message(self, connector_class, exc):
        try:
            installed = sorted(plugin.get("class") for plugin in self.plugins())
        except ConnectError:
            installed = []
        return (
            "the workers cannot validate connector.class %s (%s): is the plugin installed on every worker "
            "(kafka_connect_plugins)? Installed connector classes: %s"
            % (connector_class, exc, ", ".join(installed) or "(could not be listed)")
        )

    def create(self, name, config, initial_state):
        body = {"name": name, "config": config, "initial_state": initial_state}
        try:
            return self.request("POST", "/connectors", body)
        except ConnectError as exc:
            if exc.status == 409 and "already exists" in str(exc).lower():
                raise ConnectError(
                    "connector %s was created by someone else while this task ran: run the task again" % name,
                    status=409,
                ) from exc
            raise

    def put_config(self, name, config):
        return self.request("PUT", path_of(name) + "/config", config)

    def pause(self, name):
        return self.request("PUT", path_of(name) + "/pause")

    def resume(self, name):
        return self.request("PUT", path_of(name) + "/resume")

    def stop(self, name):
        return self.request("PUT", path_of(name) + "/stop")

    def restart(self, name, only_failed):
        query = "?includeTasks=true&onlyFailed=%s" % ("true" if only_failed else "false")
        return self.request("POST", path_of(name) + "/restart" + query)

    def delete(self, name):
        return self.request("DELETE", path_of(name))

    # -- offsets (KIP-875) ----------------------------------------------------------------------

    def offsets(self, name):
        answer = self.request("GET", path_of(name) + "/offsets") or {}
        return answer.get("offsets") or []

    def reset_offsets(self, name):
        return self.request("DELETE", path_of(name) + "/offsets")

    def alter_offsets(self, name, offsets):
        for start in range(0, len(offsets), PATCH_CHUNK):
            self.request("PATCH", path_of(name) + "/offsets", {"offsets": offsets[start : start + PATCH_CHUNK]})


def run_module(module, body):
    """Build the client, run body(module, client) and exit; every ConnectError becomes one fail_json."""
    run_client_module(
        module, ConnectError, lambda module: ConnectClient(module.params), body, connection_warnings(module.params)
    )


# --------------------------------------------------------------------------------------------
# Config: normalisation, drift, masking
# --------------------------------------------------------------------------------------------


def mask_config(config):
    """A copy of a connector config that can be shown: secret keys masked unless they hold a ${...} reference."""
    if config is None:
        return None
    return dict(sorted(mask_secrets(config).items()))


def config_value_string(key, value):
    """A wanted value as Connect stores it: true/false, numbers as digits, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(config_value_string(key, item) for item in value)
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


# --------------------------------------------------------------------------------------------
# Status and states
# --------------------------------------------------------------------------------------------


def connector_state(status):
    return ((status or {}).get("connector") or {}).get("state")


def task_states(status):
    return [task.get("state") for task in (status or {}).get("tasks") or []]


def intended_state(status):
    """RUNNING, PAUSED or STOPPED: what the worker means the connector to be (FAILED or UNASSIGNED mean RUNNING)."""
    state = connector_state(status)
    return state if state in ("PAUSED", "STOPPED") else "RUNNING"


def failed_parts(status):
    """[{"part": "connector"|"task N", "worker_id", "trace"}] of everything FAILED."""
    if not status:
        return []
    parts = []
    connector = status.get("connector") or {}
    if connector.get("state") == "FAILED":
        parts.append({"part": "connector", "worker_id": connector.get("worker_id"), "trace": connector.get("trace")})
    for task in status.get("tasks") or []:
        if task.get("state") == "FAILED":
            parts.append(
                {"part": "task %s" % task.get("id"), "worker_id": task.get("worker_id"), "trace": task.get("trace")}
            )
    return parts


def target_reached(status, target):
    """RUNNING: connector and at least one task RUNNING, all tasks RUNNING. PAUSED: connector and tasks PAUSED.
    STOPPED: connector STOPPED and no tasks (Connect removes them)."""
    tasks = task_states(status)
    if connector_state(status) != target:
        return False
    if target == "RUNNING":
        return bool(tasks) and all(state == "RUNNING" for state in tasks)
    if target == "PAUSED":
        return all(state == "PAUSED" for state in tasks)
    return not tasks


def status_summary(status):
    """'connector RUNNING; tasks RUNNING x2' - one line per distinct observation for the progress log."""
    if not status:
        return "not known to the workers yet"
    counts = {}
    for state in task_states(status):
        counts[state] = counts.get(state, 0) + 1
    tasks = ", ".join("%s x%d" % (state, counts[state]) for state in sorted(counts)) or "none"
    return "connector %s; tasks %s" % (connector_state(status), tasks)


def first_trace_line(trace):
    return (trace or "").strip().splitlines()[0] if trace else "(no trace)"


def failure_message(name, failed, target):
    parts = "; ".join(
        "%s FAILED on %s: %s" % (item["part"], item.get("worker_id"), first_trace_line(item.get("trace")))
        for item in failed
    )
    return (
        "connector %s did not reach %s: %s. The full trace is in failed_parts (and the worker log); fix the cause, "
        "then run with state=restarted (or state=running, which restarts failed tasks)" % (name, target, parts)
    )


def wait_for_target(client, name, target, timeout):
    """Poll the status until target holds (see target_reached); raise with the trace of a FAILED part, or at timeout.

    Returns (status, progress, waited seconds); progress lists each distinct observation with its time.
    """
    start = client.clock()
    progress = []
    last_summary = reached_at = failed_at = None
    while True:
        status = client.status(name)
        elapsed = client.clock() - start
        summary = status_summary(status)
        if summary != last_summary:
            progress.append("%.1fs: %s" % (elapsed, summary))
            last_summary = summary
        if status and target_reached(status, target):
            reached_at = elapsed if reached_at is None else reached_at
            if elapsed - reached_at >= SETTLE_S:
                return status, progress, round(elapsed, 1)
        else:
            reached_at = None
        # Stopping ends failed tasks too: only a connector meant to run (or pause) can fail the wait.
        failed = failed_parts(status) if target != "STOPPED" else []
        failed_at = (elapsed if failed_at is None else failed_at) if failed else None
        if failed and elapsed - failed_at >= FAILED_CONFIRM_S:
            raise ConnectError(
                failure_message(name, failed, target),
                details={"failed_parts": failed, "wait_progress": progress, "status": status},
            )
        if elapsed >= timeout:
            hint = ""
            if connector_state(status) == "RUNNING" and not task_states(status):
                hint = " The connector runs but made no task: check its config (e.g. the tables or topics to read)."
            raise ConnectError(
                "connector %s did not reach %s within wait_timeout (%d s); last seen: %s.%s"
                % (name, target, timeout, summary, hint),
                details={"wait_progress": progress, "status": status},
            )
        client.sleep(POLL_INTERVAL_S)


def task_list(status):
    """Tasks as the modules return them: id, state, worker_id and the trace of a failed one."""
    tasks = []
    for task in sorted((status or {}).get("tasks") or [], key=lambda item: item.get("id", 0)):
        entry = {"id": task.get("id"), "state": task.get("state"), "worker_id": task.get("worker_id")}
        if task.get("trace"):
            entry["trace"] = task["trace"]
        tasks.append(entry)
    return tasks


# --------------------------------------------------------------------------------------------
# kafka_connector: which calls a desired state needs
# --------------------------------------------------------------------------------------------

INITIAL_STATE = {
    "present": "RUNNING",
    "running": "RUNNING",
    "restarted": "RUNNING",
    "paused": "PAUSED",
    "stopped": "STOPPED",
}


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


# --------------------------------------------------------------------------------------------
# Offsets documents
# --------------------------------------------------------------------------------------------


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value):
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def config_sha256(config):
    """sha256 of the normalised config (keys sorted, `name` left out): tells whether the config changed since."""
    return sha256_of(dict((key, value) for key, value in (config or {}).items() if key != "name"))


def normalise_offsets(offsets):
    """Offsets sorted by partition (canonical JSON), each {"partition": {..}, "offset": {..}}; refuses bad entries."""
    keyed = []
    seen = set()
    if not isinstance(offsets, list):
        raise ConnectError("offsets must be a list of {partition, offset} entries")
    for index, entry in enumerate(offsets):
        if not isinstance(entry, dict) or not isinstance(entry.get("partition"), dict) or not entry["partition"]:
            raise ConnectError("offsets entry %d has no partition object" % index)
        if not isinstance(entry.get("offset"), dict):
            raise ConnectError(
                "offsets entry %d (partition %s) has no offset object" % (index, canonical_json(entry["partition"]))
            )
        key = canonical_json(entry["partition"])
        if key in seen:
            raise ConnectError("offsets list partition %s twice" % key)
        seen.add(key)
        keyed.append((key, {"partition": entry["partition"], "offset": entry["offset"]}))
    keyed.sort(key=lambda item: item[0])
    return [entry for _key, entry in keyed]


def offsets_index(offsets):
    return dict((canonical_json(entry["partition"]), canonical_json(entry["offset"])) for entry in offsets)


def offsets_delta(current, wanted):
    """How wanted differs from current: partitions added, removed, changed, unchanged (counts)."""
    have, want = offsets_index(current), offsets_index(wanted)
    return {
        "added": len([key for key in want if key not in have]),
        "removed": len([key for key in have if key not in want]),
        "changed": len([key for key in want if key in have and have[key] != want[key]]),
        "unchanged": len([key for key in want if have.get(key) == want[key]]),
    }


def offsets_equal(current, wanted):
    return offsets_index(current) == offsets_index(wanted)


def utc_text(moment):
    return moment.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def parse_utc(text):
    try:
        return datetime.datetime.strptime(str(text), TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def build_offsets_document(worker, info, offsets, now):
    """The backup document of one connector: worker = GET /, info = GET /connectors/{n}, offsets = its offsets."""
    normalised = normalise_offsets(offsets)
    config = info.get("config") or {}
    return {
        "format": DOCUMENT_FORMAT,
        "schema_version": DOCUMENT_SCHEMA_VERSION,
        "created_at": utc_text(now),
        "kafka_cluster_id": worker.get("kafka_cluster_id"),
        "connect_version": worker.get("version"),
        "connector": {
            "name": info.get("name"),
            "class": config.get("connector.class"),
            "type": info.get("type"),
            "config_sha256": config_sha256(config),
        },
        "partition_count": len(normalised),
        "offsets_sha256": sha256_of(normalised),
        "offsets": normalised,
    }


def validate_offsets_document(document):
    """The document with its offsets normalised; a ConnectError listing every problem otherwise."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise ConnectError("not an offsets backup of this collection (format is not %s)" % DOCUMENT_FORMAT)
    version = document.get("schema_version")
    if version != DOCUMENT_SCHEMA_VERSION:
        raise ConnectError(
            "offsets backup schema_version %r is not %d: it was written by another version of cdc.pipeline; "
            "restore it with that version" % (version, DOCUMENT_SCHEMA_VERSION)
        )
    problems = []
    if parse_utc(document.get("created_at")) is None:
        problems.append("created_at %r is not a UTC time like 2026-11-27T03:00:00Z" % document.get("created_at"))
    connector = document.get("connector")
    if not isinstance(connector, dict) or not connector.get("name") or not connector.get("class"):
        problems.append("connector.name and connector.class are missing")
    try:
        offsets = normalise_offsets(document.get("offsets"))
    except ConnectError as exc:
        problems.append(str(exc))
        offsets = None
    if offsets is not None:
        if document.get("partition_count") != len(offsets):
            problems.append(
                "partition_count %r but %d offsets: the file is truncated or edited"
                % (document.get("partition_count"), len(offsets))
            )
        elif document.get("offsets_sha256") != sha256_of(offsets):
            problems.append("offsets_sha256 does not match the offsets: the file is damaged or edited")
    if problems:
        raise ConnectError("the offsets backup is not usable: %s" % "; ".join(problems))
    validated = dict(document)
    validated["offsets"] = offsets
    return validated


def same_backup_content(first, second):
    """Equal documents apart from created_at: a backup that would say nothing new."""
    if not isinstance(first, dict) or not isinstance(second, dict):
        return False
    return canonical_json(_without_time(first)) == canonical_json(_without_time(second))


def _without_time(document):
    return dict((key, value) for key, value in document.items() if key != "created_at")


def restore_refusals(document, name, current_class, kafka_cluster_id):
    """Why the document does not belong to this connector (empty when it does); force overrides these."""
    connector = document["connector"]
    refusals = []
    if connector["name"] != name:
        refusals.append("the backup is of connector %s, not %s" % (connector["name"], name))
    if connector["class"] != current_class:
        refusals.append("the backup is of class %s, the connector runs %s" % (connector["class"], current_class))
    if document.get("kafka_cluster_id") and kafka_cluster_id and document["kafka_cluster_id"] != kafka_cluster_id:
        refusals.append(
            "the backup was taken on Kafka cluster %s, the workers use %s"
            % (document["kafka_cluster_id"], kafka_cluster_id)
        )
    return refusals


def backup_age_seconds(document, now):
    return int((now - parse_utc(document["created_at"])).total_seconds())


def ttl_refusal(document, connector_type, cdc_log_ttl, now):
    """The refusal when a source backup is older than the CDC log TTL (its changes are gone from the log), else None."""
    if connector_type != "source" or not cdc_log_ttl:
        return None
    age = backup_age_seconds(document, now)
    if age <= cdc_log_ttl:
        return None
    return (
        "the backup is %d s old (taken %s), older than the CDC log TTL (cdc_log_ttl=%d s): the changes between its "
        "positions and the oldest entry still in the CDC log are gone, and the source would skip them silently. "
        "Restoring it means a reconciliation will be needed (compare or re-copy the tables for that period); "
        "set force=true to restore anyway" % (age, document["created_at"], cdc_log_ttl)
    )


# --------------------------------------------------------------------------------------------
# Backup files
# --------------------------------------------------------------------------------------------

_BACKUP_STAMP = r"\d{8}T\d{6}Z(-\d+)?"


def safe_file_part(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def backup_file_name(name, now, sequence=0):
    stamp = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return "%s-%s%s.json" % (safe_file_part(name), stamp, "-%d" % sequence if sequence else "")


def backups_in(directory, name):
    """Backup files of connector name in directory, oldest first (the time stamp in the name sorts them)."""
    pattern = re.compile(r"^%s-%s\.json$" % (re.escape(safe_file_part(name)), _BACKUP_STAMP))
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ConnectError("cannot list %s: %s" % (directory, exc)) from exc
    return [os.path.join(directory, entry) for entry in sorted(names, key=_stamp_order) if pattern.match(entry)]


def _stamp_order(file_name):
    match = re.search(r"(\d{8}T\d{6}Z)(?:-(\d+))?\.json$", file_name)
    return (match.group(1), int(match.group(2) or 0)) if match else ("", 0)


def backup_time(path):
    """The UTC time in a backup file name (<connector>-YYYYmmddTHHMMSSZ[-n].json), or None."""
    stamp = _stamp_order(os.path.basename(path))[0]
    try:
        return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def retention_victims(paths, keep_count, keep_days, now):
    """The backups of one connector (oldest first, as backups_in lists them) that retention deletes.

    Beyond the newest keep_count, and older than keep_days (0: no limit), except the newest one, which is
    always kept: an idle connector writes no new file, so its last backup stays the current one however old.
    """
    oldest_allowed = now - datetime.timedelta(days=keep_days) if keep_days else None
    victims = []
    for index, path in enumerate(reversed(paths)):
        if index == 0:
            continue
        too_many = bool(keep_count) and index >= keep_count
        taken = backup_time(path)
        too_old = oldest_allowed is not None and taken is not None and taken < oldest_allowed
        if too_many or too_old:
            victims.append(path)
    return sorted(victims, key=lambda path: _stamp_order(os.path.basename(path)))


def read_json_file(path):
    try:
        with open(path, "r") as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        raise ConnectError("cannot read %s: %s" % (path, exc)) from exc
    except ValueError as exc:
        raise ConnectError("%s is not JSON (%s): not an offsets backup, or a damaged one" % (path, exc)) from exc


def read_json_if_any(path):
    """The JSON in path, or None when it is missing or not JSON (then it is simply not the same content)."""
    try:
        return read_json_file(path)
    except ConnectError:
        return None


def render_json(document):
    """Indented JSON, except an "offsets" list: one partition per line (10,000 lines stay fast and diffable)."""
    if not isinstance(document.get("offsets"), list):
        return json.dumps(document, indent=1, sort_keys=True) + "\n"
    head = dict((key, value) for key, value in document.items() if key != "offsets")
    head_text = json.dumps(head, indent=1, sort_keys=True).rstrip()[:-1].rstrip()
    lines = ",\n".join("  " + json.dumps(entry, sort_keys=True) for entry in document["offsets"])
    separator = ",\n" if head else "\n"
    offsets = "[\n%s\n ]" % lines if lines else "[]"
    return '%s%s "offsets": %s\n}\n' % (head_text, separator, offsets)


def write_json_atomic(path, document, replace=True):
    """Write document to path, mode 0600 from the first byte, via a temporary file in the same directory.

    replace=False never replaces an existing file (os.link fails on one): ConnectError then.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(render_json(document))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
        _fsync_directory(directory)
    except OSError as exc:
        raise ConnectError("cannot write %s: %s" % (path, exc)) from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
