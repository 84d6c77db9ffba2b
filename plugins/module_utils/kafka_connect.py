# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport and shared rules of the cdc.pipeline Kafka Connect modules (kafka_connector, kafka_connector_info,
connect_offsets).

One place for: the connection options, a small REST client over the standard library (HTTPS with
a client certificate, HTTP 409 "rebalance in progress" retried with a bounded backoff, every
failure worded as ONE message naming the fix), secret masking of a config, and the connector
status rules the modules share (intended and failed parts, waiting until a connector has reached
a state, the task list). The config drift and the plan of REST calls live in the kafka_connector
module, the offsets backup document in connect_offsets_document.py.
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

import json
import re
import socket
import ssl
import time
import unicodedata
from http.client import BadStatusLine, HTTPException, RemoteDisconnected
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import HTTPSHandler, ProxyHandler, Request, build_opener

from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import mask_secrets
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import run_module as run_client_module
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import tls_file_problem

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


# Characters a connector name cannot have: the worker's URL paths (Jetty) refuse or reinterpret them, so
# such a connector could be created but never read, changed or deleted through the REST API again.
NAME_FORBIDDEN = "/\\%?#;"
NAME_MAX_LENGTH = 1000
NAME_FIX = "use printable characters without / \\ % ? # ; (for example letters, digits, . _ -)"


def connector_name_problem(name, option="name"):  # noqa: PLR0911 - one exit per kind of problem
    """Why name cannot be a connector name (worded with its fix, naming option), or None."""
    if not isinstance(name, str) or not name.strip():
        return "%s is empty: give the connector's name" % option
    if name != name.strip():
        return "%s %r starts or ends with a space: the worker would not find it again; leave the spaces out" % (
            option,
            name,
        )
    for position, char in enumerate(name):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            return "%s %r has a control or invisible character (U+%04X at position %d): %s" % (
                option,
                name,
                ord(char),
                position,
                NAME_FIX,
            )
        if char in NAME_FORBIDDEN:
            return "%s %r contains %r, which the workers' REST paths cannot carry: %s" % (option, name, char, NAME_FIX)
    if name in (".", ".."):
        return "%s %r is a path step, not a connector name: %s" % (option, name, NAME_FIX)
    if len(name) > NAME_MAX_LENGTH:
        return "%s is %d characters long: keep connector names under %d" % (option, len(name), NAME_MAX_LENGTH)
    return None


def check_connector_name(name, option="name"):
    """Raise ConnectError when name cannot be a connector name; call before the first request."""
    problem = connector_name_problem(name, option)
    if problem:
        raise ConnectError(problem)


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


ERROR_TEXT_MAX = 1000


def html_text(text):
    """The title (or first heading) of an HTML error page, or its text without tags."""
    for pattern in (r"<title[^>]*>(.*?)</title>", r"<h[12][^>]*>(.*?)</h[12]>"):
        match = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
        if match and match.group(1).strip():
            return re.sub(r"<[^>]*>", " ", match.group(1))
    return re.sub(r"<[^>]*>", " ", text)


def error_text(payload):
    """The worker's message from an error body ({"error_code": .., "message": ..}) or the raw text, one line.

    An HTML page (Jetty answers some malformed paths with one) is reduced to its title.
    """
    if isinstance(payload, dict):
        text = str(payload.get("message") or payload.get("_raw") or payload)
    else:
        text = str(payload or "")
    if re.search(r"<(html|head|body|title|!doctype)\b", text, re.IGNORECASE):
        text = html_text(text)
    text = " ".join(text.split())
    return text if len(text) <= ERROR_TEXT_MAX else text[:ERROR_TEXT_MAX] + "..."


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
# Masking
# --------------------------------------------------------------------------------------------


def mask_config(config):
    """A copy of a connector config that can be shown: secret keys masked unless they hold a ${...} reference."""
    if config is None:
        return None
    return dict(sorted(mask_secrets(config).items()))


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
