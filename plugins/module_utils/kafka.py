# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport and shared rules of the cdc.pipeline Kafka modules (kafka_topic, kafka_acl, kafka_scram_user,
kafka_cluster_info, pipeline_canary).

One place for: the connection options, the librdkafka configuration built from them, the
classification of librdkafka failures into ONE message naming the fix (unreachable brokers,
refused SASL login, TLS verification, wrong security_protocol, missing ACLs), a confluent-kafka
AdminClient that raises those messages, and the forms it reads and writes (partition replicas,
ACL bindings, SCRAM mechanisms). What one module alone decides (topic config changes, ACL plans,
SCRAM credential plans, partition health) lives in that module.
Nothing here calls fail_json: errors are raised as KafkaModuleError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import logging
import re
import time
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import run_module as run_client_module
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import tls_file_problem

KAFKA_IMPORT_ERROR = None
try:
    from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection, TopicPartition
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        NewPartitions,
        NewTopic,
        OffsetSpec,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )
except ImportError:
    HAS_KAFKA = False
    KAFKA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_KAFKA = True

PIP_PACKAGE = "confluent-kafka"
CLIENT_ID = "cdc.pipeline-ansible"
SECURITY_PROTOCOLS = ["SASL_SSL", "SSL", "SASL_PLAINTEXT", "PLAINTEXT"]
SASL_MECHANISMS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
POLL_INTERVAL_S = 0.1

FIREWALL_FIX = (
    "Check bootstrap_servers (host:port of the brokers' client listener), that the brokers run, "
    "and that the firewall lets this controller reach those ports"
)


class KafkaModuleError(Exception):
    """A failure already worded for the operator: the message says what to fix."""


def connection_argument_spec():
    """The options of the cdc.pipeline.kafka doc fragment."""
    return dict(
        bootstrap_servers=dict(type="list", elements="str", required=True),
        security_protocol=dict(type="str", choices=SECURITY_PROTOCOLS, default="SASL_SSL"),
        sasl_mechanism=dict(type="str", choices=SASL_MECHANISMS, default="SCRAM-SHA-512"),
        sasl_username=dict(type="str"),
        sasl_password=dict(type="str", no_log=True),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        verify_hostname=dict(type="bool", default=True),
        request_timeout=dict(type="int", default=30),
    )


def require_kafka(module):
    if not HAS_KAFKA:
        module.fail_json(msg=missing_required_lib(PIP_PACKAGE), exception=KAFKA_IMPORT_ERROR)


# --------------------------------------------------------------------------------------------
# Connection settings
# --------------------------------------------------------------------------------------------

_SERVER_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def uses_sasl(params):
    return params.get("security_protocol", "SASL_SSL").startswith("SASL_")


def uses_tls(params):
    return params.get("security_protocol", "SASL_SSL").endswith("SSL")


def validate_connection_params(params):
    """Refuse incomplete or impossible settings before any connection attempt."""
    servers = [str(server).strip() for server in params.get("bootstrap_servers") or [] if str(server).strip()]
    if not servers:
        raise KafkaModuleError("bootstrap_servers is empty: list the brokers as host:port (e.g. 10.0.0.21:9092)")
    for server in servers:
        match = _SERVER_RE.match(server)
        if not match or not 0 < int(match.group(2)) < 65536:
            raise KafkaModuleError(
                "bootstrap_servers entry %r is not host:port: give each broker as host:port (e.g. 10.0.0.21:9092, "
                "[fd00::21]:9092)" % server
            )
    timeout = params.get("request_timeout")
    if timeout is not None and timeout < 1:
        raise KafkaModuleError("request_timeout must be at least 1 (seconds)")
    if uses_sasl(params) and not (params.get("sasl_username") and params.get("sasl_password")):
        raise KafkaModuleError(
            "security_protocol %s logs in with SASL: set sasl_username and sasl_password (an admin user, "
            "listed in the brokers' super.users)" % params["security_protocol"]
        )
    problem = uses_tls(params) and tls_file_problem(params, "the PEM CA that signed the brokers' listener certificates")
    if problem:
        raise KafkaModuleError(problem)
    return servers


def connection_warnings(params):
    """Settings that work but deserve a word (the modules pass these to module.warn)."""
    warnings = []
    protocol = params.get("security_protocol", "SASL_SSL")
    if not uses_sasl(params) and (params.get("sasl_username") or params.get("sasl_password")):
        warnings.append("security_protocol %s does not use SASL: sasl_username/sasl_password are ignored" % protocol)
    if not uses_tls(params) and any(params.get(k) for k in ("ca_cert", "client_cert", "client_key")):
        warnings.append("security_protocol %s does not use TLS: ca_cert/client_cert/client_key are ignored" % protocol)
    if protocol == "SASL_PLAINTEXT" and params.get("sasl_mechanism") == "PLAIN":
        warnings.append("SASL PLAIN over SASL_PLAINTEXT sends the password in clear text: use SASL_SSL")
    if uses_tls(params) and params.get("verify_hostname") is False:
        warnings.append("verify_hostname=false: the broker certificate is not checked against its address")
    return warnings


def build_client_config(params, username=None, password=None):
    """librdkafka settings for params; username/password replace sasl_username/sasl_password (the SCRAM probe)."""
    servers = validate_connection_params(params)
    timeout_ms = int(params.get("request_timeout") or 30) * 1000
    protocol = params.get("security_protocol", "SASL_SSL")
    config = {
        "bootstrap.servers": ",".join(servers),
        "security.protocol": protocol,
        "client.id": CLIENT_ID,
        "socket.timeout.ms": timeout_ms,
        "socket.connection.setup.timeout.ms": timeout_ms,
        "reconnect.backoff.max.ms": 1000,
    }
    if uses_tls(params):
        config["ssl.endpoint.identification.algorithm"] = "https" if params.get("verify_hostname", True) else "none"
        if params.get("ca_cert"):
            config["ssl.ca.location"] = params["ca_cert"]
        if params.get("client_cert"):
            config["ssl.certificate.location"] = params["client_cert"]
            config["ssl.key.location"] = params["client_key"]
    if uses_sasl(params):
        config["sasl.mechanism"] = params.get("sasl_mechanism") or "SCRAM-SHA-512"
        config["sasl.username"] = params.get("sasl_username") if username is None else username
        config["sasl.password"] = params.get("sasl_password") if password is None else password
    return config


# --------------------------------------------------------------------------------------------
# Failure classification
# --------------------------------------------------------------------------------------------

AUTH = "auth"
TLS = "tls"
PROTOCOL = "protocol"
UNREACHABLE = "unreachable"
UNSUPPORTED_MECHANISM = "mechanism"

_UNREACHABLE_NAMES = ("_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "_WAIT_COORD")
_DETAIL_RE = re.compile(r"\S+://\S+/(?:bootstrap|\d+): (.*)$")


def _strip_broker_prefix(text):
    """'sasl_ssl://host:9092/bootstrap: Connect ... refused' (also inside a log line) -> 'Connect ... refused'."""
    match = _DETAIL_RE.search(str(text))
    return (match.group(1) if match else str(text)).strip()


def classify_client_errors(events):
    """What went wrong, from the errors and logs librdkafka reported: (kind, detail) or (None, "").

    events: (error name, text) pairs in the order they came (error_cb) plus log lines (name "LOG").
    A refused login and a failed TLS verification are definitive; refused connections, timeouts
    and "all brokers down" only mean "unreachable" when nothing more specific was seen.
    """
    kinds = []
    protocol_hints = 0
    for name, text in events:
        lowered = str(text).lower()
        if "unsupported sasl mechanism" in lowered or ("sasl mechanism" in lowered and "not supported" in lowered):
            kinds.append((0, UNSUPPORTED_MECHANISM, text))
        elif name == "_AUTHENTICATION" or "sasl authentication error" in lowered or "authentication failed" in lowered:
            kinds.append((1, AUTH, text))
        elif (
            "wrong version number" in lowered
            or "packet length too long" in lowered
            or ("disconnected" in lowered and "apiversion" in lowered)
        ):
            # Once could be a broker restarting mid-handshake; twice in a row is the wrong protocol.
            protocol_hints += 1
            kinds.append((2, PROTOCOL, text) if protocol_hints > 1 else (4, UNREACHABLE, text))
        elif name == "_SSL" or "ssl handshake failed" in lowered or "certificate verify failed" in lowered:
            kinds.append((3, TLS, text))
        elif name == "_ALL_BROKERS_DOWN":
            kinds.append((5, UNREACHABLE, text))  # says nothing of why: any other reason is worth more
        elif name in _UNREACHABLE_NAMES or "connection refused" in lowered or "failed to resolve" in lowered:
            kinds.append((4, UNREACHABLE, text))
    if not kinds:
        return None, ""
    _rank, kind, text = min(kinds, key=lambda item: item[0])
    return kind, _strip_broker_prefix(text)


def failure_message(kind, detail, params, username=None):
    """One message naming the fix for a classified connection failure."""
    servers = ", ".join(params.get("bootstrap_servers") or [])
    user = username if username is not None else params.get("sasl_username")
    detail_part = (": %s" % detail) if detail else ""
    if kind == AUTH:
        return (
            "the brokers (%s) refused the SASL %s login of user %r%s. Check sasl_username and sasl_password "
            "(the admin credentials), and that the user exists with a %s credential"
            % (servers, params.get("sasl_mechanism"), user, detail_part, params.get("sasl_mechanism"))
        )
    if kind == UNSUPPORTED_MECHANISM:
        return (
            "the brokers' listener (%s) does not enable SASL mechanism %s%s: set sasl_mechanism to one the listener "
            "enables (sasl.enabled.mechanisms)" % (servers, params.get("sasl_mechanism"), detail_part)
        )
    if kind == TLS:
        return (
            "TLS handshake with the brokers (%s) failed%s. Set ca_cert to the PEM CA that signed the listener "
            "certificates, and make sure each bootstrap_servers address is in the certificate's subjectAltName "
            "(verify_hostname=false only to debug); with mTLS check client_cert/client_key" % (servers, detail_part)
        )
    if kind == PROTOCOL:
        return (
            "the brokers (%s) do not speak %s on that port%s: set security_protocol to what the listener uses "
            "(listener.security.protocol.map), or point bootstrap_servers at the %s listener"
            % (servers, params.get("security_protocol"), detail_part, params.get("security_protocol"))
        )
    return "cannot reach any broker in bootstrap_servers (%s)%s. %s" % (servers, detail_part, FIREWALL_FIX)


def kafka_error_parts(exc):
    """(name, text) of a KafkaException (or anything else)."""
    error = exc.args[0] if getattr(exc, "args", None) else None
    if error is not None and hasattr(error, "name") and hasattr(error, "str"):
        return error.name(), error.str()
    return type(exc).__name__, str(exc)


def describe_operation_error(name, text, what, params, username=None):
    """A broker's answer to one operation, worded with its fix."""
    user = username if username is not None else params.get("sasl_username")
    if name.endswith("AUTHORIZATION_FAILED") or name == "_AUTHORIZATION":
        return (
            "user %r may not %s (%s): use an admin listed in the brokers' super.users as sasl_username, "
            "or grant that user the ACL (cdc.pipeline.kafka_acl)" % (user, what, name)
        )
    if name in ("_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED"):
        return failure_message(AUTH, text, params, username)
    if name in _UNREACHABLE_NAMES:
        return failure_message(UNREACHABLE, "%s while trying to %s" % (text or name, what), params, username)
    return "the brokers refused to %s (%s): %s" % (what, name, text)


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class _EventHandler(logging.Handler):
    def __init__(self, events):
        logging.Handler.__init__(self, level=logging.DEBUG)
        self.events = events

    def emit(self, record):
        self.events.append(("LOG", record.getMessage()))


class KafkaAdmin:
    """A confluent-kafka AdminClient: every call returns the result or raises KafkaModuleError.

    librdkafka reports a refused login or a failed TLS handshake only through its error callback
    and logs (the request itself just times out), so both are collected and read while waiting.
    """

    def __init__(self, params, username=None, password=None):
        self.params = params
        self.username = params.get("sasl_username") if username is None else username
        self.timeout = int(params.get("request_timeout") or 30)
        self.events = []
        config = build_client_config(params, username, password)
        logger = logging.Logger("cdc.pipeline.kafka.%d" % id(self))
        logger.addHandler(_EventHandler(self.events))
        logger.propagate = False
        config["logger"] = logger
        config["error_cb"] = self._on_error
        try:
            self.admin = AdminClient(config)
        except KafkaException as exc:
            raise KafkaModuleError("invalid client settings: %s" % kafka_error_parts(exc)[1]) from exc

    def _on_error(self, error):
        self.events.append((error.name(), error.str()))

    def _pause(self, future):
        """Wait a moment for future (returning as soon as it is done) and serve the error and log callbacks."""
        concurrent.futures.wait([future], timeout=POLL_INTERVAL_S)
        self.admin.poll(0)

    def connection_failure(self, definitive_only=True):
        kind, detail = classify_client_errors(self.events)
        if kind is None or (definitive_only and kind == UNREACHABLE):
            return None
        return kind, detail

    def wait(self, future, what, fail_fast=True):
        """The result of one future; a refused login or TLS failure ends the wait at once."""
        deadline = time.monotonic() + self.timeout + 5
        while not future.done():
            self._pause(future)
            failure = self.connection_failure() if fail_fast else None
            if failure:
                raise KafkaModuleError(failure_message(failure[0], failure[1], self.params, self.username))
            if time.monotonic() > deadline:
                kind, detail = classify_client_errors(self.events)
                raise KafkaModuleError(
                    failure_message(kind or UNREACHABLE, detail or "no answer within %ss" % self.timeout, self.params)
                )
        self.admin.poll(0)
        try:
            return future.result()
        except KafkaException as exc:
            name, text = kafka_error_parts(exc)
            if name in _UNREACHABLE_NAMES:
                kind, detail = classify_client_errors(self.events)
                if kind is not None:
                    raise KafkaModuleError(failure_message(kind, detail, self.params, self.username)) from exc
            raise KafkaModuleError(describe_operation_error(name, text, what, self.params, self.username)) from exc

    def wait_all(self, futures, what):
        return dict((key, self.wait(future, what)) for key, future in futures.items())

    # -- probe ------------------------------------------------------------------------------

    def probe(self):
        """Connect and log in (DescribeCluster needs no ACL): the cluster description, or one clear error."""
        return self.wait(self.admin.describe_cluster(request_timeout=self.timeout), "describe the cluster")

    def login_succeeds(self):
        """True when the SASL login works, False when the brokers refuse it; other failures raise."""
        future = self.admin.describe_cluster(request_timeout=self.timeout)
        deadline = time.monotonic() + self.timeout + 5
        while not future.done():
            self._pause(future)
            failure = self.connection_failure()
            if failure and failure[0] == AUTH:
                return False
            if failure and failure[0] == UNSUPPORTED_MECHANISM:
                raise KafkaModuleError(
                    "the brokers' listener does not enable SASL mechanism %s, so %r cannot log in with it (%s): "
                    "enable it on the listener (sasl.enabled.mechanisms)"
                    % (self.params.get("sasl_mechanism"), self.username, failure[1])
                )
            if failure:
                raise KafkaModuleError(failure_message(failure[0], failure[1], self.params, self.username))
            if time.monotonic() > deadline:
                break
        return self.wait(future, "describe the cluster") is not None

    # -- reads ------------------------------------------------------------------------------

    def describe_topic(self, name):
        """A TopicDescription, or None when the topic does not exist."""
        futures = self.admin.describe_topics(TopicCollection([name]), request_timeout=self.timeout)
        try:
            return self.wait(futures[name], "describe topic %s" % name)
        except KafkaModuleError as exc:
            cause = exc.__cause__
            if cause is not None and kafka_error_parts(cause)[0] == "UNKNOWN_TOPIC_OR_PART":
                return None
            raise

    def topic_configs(self, names):
        """{topic: {key: {"value", "source", "is_default", "is_sensitive"}}} for existing topics."""
        if not names:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
        futures = self.admin.describe_configs(resources, request_timeout=self.timeout)
        configs = {}
        for resource, future in futures.items():
            entries = self.wait(future, "describe the configs of topic %s" % resource.name)
            configs[resource.name] = dict((key, config_entry_dict(entry)) for key, entry in entries.items())
        return configs

    def broker_configs(self, broker_id):
        resource = ConfigResource(ResourceType.BROKER, str(broker_id))
        futures = self.admin.describe_configs([resource], request_timeout=self.timeout)
        entries = self.wait(list(futures.values())[0], "describe the configs of broker %s" % broker_id)
        return dict((key, config_entry_dict(entry)) for key, entry in entries.items())

    def partition_offsets(self, partitions):
        """{(topic, partition): {"earliest": int, "latest": int}} of (topic, partition) pairs."""
        offsets = {}
        if not partitions:
            return offsets
        for which, spec in (("earliest", OffsetSpec.earliest()), ("latest", OffsetSpec.latest())):
            request = dict((TopicPartition(topic, partition), spec) for topic, partition in partitions)
            futures = self.admin.list_offsets(request, request_timeout=self.timeout)
            for key, future in futures.items():
                info = self.wait(future, "list the %s offset of %s-%d" % (which, key.topic, key.partition))
                offsets.setdefault((key.topic, key.partition), {})[which] = int(info.offset)
        return offsets

    def list_topics(self):
        try:
            return self.admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            name, text = kafka_error_parts(exc)
            self.admin.poll(0)
            kind, detail = classify_client_errors(self.events)
            if kind is not None:
                raise KafkaModuleError(failure_message(kind, detail, self.params, self.username)) from exc
            raise KafkaModuleError(describe_operation_error(name, text, "list topics", self.params)) from exc

    def describe_acls_of(self, principals):
        """Every ACL binding of the given principals, as normalised dicts."""
        futures = dict(
            (
                principal,
                self.admin.describe_acls(
                    AclBindingFilter(
                        ResourceType.ANY,
                        None,
                        ResourcePatternType.ANY,
                        principal,
                        None,
                        AclOperation.ANY,
                        AclPermissionType.ANY,
                    ),
                    request_timeout=self.timeout,
                ),
            )
            for principal in principals
        )
        bindings = []
        for principal, future in futures.items():
            bindings.extend(acl_from_binding(b) for b in self.wait(future, "describe the ACLs of %s" % principal))
        return bindings

    def scram_credentials(self, user):
        """{mechanism: iterations} of user; {} when it has none."""
        futures = self.admin.describe_user_scram_credentials([user], request_timeout=self.timeout)
        try:
            description = self.wait(futures[user], "describe the SCRAM credentials of %s" % user)
        except KafkaModuleError as exc:
            cause = exc.__cause__
            if cause is not None and kafka_error_parts(cause)[0] == "RESOURCE_NOT_FOUND":
                return {}
            raise
        return dict(
            (scram_mechanism_name(info.mechanism), int(info.iterations))
            for info in description.scram_credential_infos or []
        )

    # -- writes -----------------------------------------------------------------------------

    def create_topic(self, name, partitions, replication_factor, config, validate_only=False):
        topic = NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config=dict(config),
        )
        futures = self.admin.create_topics(
            [topic], request_timeout=self.timeout, operation_timeout=self.timeout, validate_only=validate_only
        )
        self.wait(futures[name], "create topic %s" % name)

    def delete_topic(self, name):
        """Delete and wait (bounded) until the brokers no longer describe it, so the name can be reused at once."""
        futures = self.admin.delete_topics([name], request_timeout=self.timeout, operation_timeout=self.timeout)
        self.wait(futures[name], "delete topic %s" % name)
        deadline = time.monotonic() + self.timeout
        while self.describe_topic(name) is not None:
            if time.monotonic() > deadline:
                raise KafkaModuleError(
                    "topic %s was deleted but the brokers still describe it after %ss: check the controller and "
                    "broker logs, then run again" % (name, self.timeout)
                )
            time.sleep(0.2)

    def add_partitions(self, name, total, validate_only=False):
        futures = self.admin.create_partitions(
            [NewPartitions(name, total)],
            request_timeout=self.timeout,
            operation_timeout=self.timeout,
            validate_only=validate_only,
        )
        self.wait(futures[name], "add partitions to topic %s" % name)

    def alter_topic_configs(self, name, to_set, to_delete, validate_only=False):
        entries = [
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
            for key, value in sorted(to_set.items())
        ]
        entries.extend(
            ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE) for key in sorted(to_delete)
        )
        resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
        futures = self.admin.incremental_alter_configs(
            [resource], request_timeout=self.timeout, validate_only=validate_only
        )
        for future in futures.values():
            self.wait(future, "change the configs of topic %s" % name)

    def create_acls(self, acls):
        if not acls:
            return
        futures = self.admin.create_acls([acl_binding(acl) for acl in acls], request_timeout=self.timeout)
        for binding, future in futures.items():
            self.wait(future, "create ACL %s" % binding)

    def delete_acls(self, acls):
        if not acls:
            return
        futures = self.admin.delete_acls(
            [acl_binding(acl, as_filter=True) for acl in acls], request_timeout=self.timeout
        )
        for binding, future in futures.items():
            self.wait(future, "delete ACL %s" % binding)

    def upsert_scram(self, user, mechanism, iterations, password):
        info = ScramCredentialInfo(scram_mechanism(mechanism), iterations)
        alteration = UserScramCredentialUpsertion(user, info, password.encode("utf-8"))
        futures = self.admin.alter_user_scram_credentials([alteration], request_timeout=self.timeout)
        self.wait(futures[user], "set the %s credential of %s" % (mechanism, user))

    def delete_scram(self, user, mechanism):
        deletion = UserScramCredentialDeletion(user, scram_mechanism(mechanism))
        futures = self.admin.alter_user_scram_credentials([deletion], request_timeout=self.timeout)
        self.wait(futures[user], "delete the %s credential of %s" % (mechanism, user))


class _RecordClient:
    """What the producer and the reader share: the settings, and the client errors librdkafka reports through its
    error callback, read first when an operation fails (a refused login or TLS failure names its own fix)."""

    def __init__(self, params):
        self.params = params
        self.timeout = int(params.get("request_timeout") or 30)
        self.events = []

    def _on_error(self, error):
        self.events.append((error.name(), error.str()))

    def _failure(self, name, text, what):
        kind, detail = classify_client_errors(self.events + [(name, text)])
        if kind is not None:
            return KafkaModuleError(failure_message(kind, detail, self.params))
        return KafkaModuleError(describe_operation_error(name, text, what, self.params))


class RecordProducer(_RecordClient):
    """A confluent-kafka Producer for single records: send() returns (partition, offset) or raises KafkaModuleError.

    acks=all and idempotence (the record is on min.insync.replicas brokers, once, when send returns),
    murmur2 (Kafka's Java partitioner, which the ScyllaDB source connector's producer uses) where no partition is
    given, lz4 (what the topics store).
    """

    def __init__(self, params):
        _RecordClient.__init__(self, params)
        config = build_client_config(params)
        config.update(
            {
                "acks": "all",
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "compression.type": "lz4",
                "linger.ms": 0,
                "message.timeout.ms": self.timeout * 1000,
                "error_cb": self._on_error,
            }
        )
        self.producer = Producer(config)

    def send(self, topic, key, value, partition=None, headers=None):
        what = "produce to topic %s" % topic
        delivery = {}

        def on_delivery(err, msg):
            delivery.update(err=err, msg=msg)

        extra = {} if partition is None else {"partition": partition}
        if headers:
            extra["headers"] = headers
        try:
            self.producer.produce(topic, key=key, value=value, on_delivery=on_delivery, **extra)
        except (BufferError, KafkaException) as exc:
            name, text = kafka_error_parts(exc)
            raise self._failure(name, text, what) from exc
        left = self.producer.flush(self.timeout + 5)
        if left or "err" not in delivery:
            raise self._failure("_MSG_TIMED_OUT", "not delivered within %ss" % self.timeout, what)
        if delivery["err"] is not None:
            err = delivery["err"]
            raise self._failure(err.name(), err.str(), what)
        return delivery["msg"].partition(), delivery["msg"].offset()


class RecordReader(_RecordClient):
    """Reads a range of offsets of one partition with a confluent-kafka Consumer, without joining or committing to a
    consumer group (assign, no commits): read() returns the records as dicts or raises KafkaModuleError."""

    def __init__(self, params):
        _RecordClient.__init__(self, params)
        config = build_client_config(params)
        config.update(
            {
                # librdkafka wants a group id; nothing is committed to it and assign() never joins it.
                "group.id": "cdc.pipeline-reader",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "error_cb": self._on_error,
            }
        )
        self.consumer = Consumer(config)

    def close(self):
        self.consumer.close()

    def read(self, topic, partition, start, end):
        """Every record of topic/partition with start <= offset < end, in order, as {offset, key, value, headers,
        timestamp}; headers are a list of (name, bytes) pairs as the record carries them."""
        if end <= start:
            return []
        what = "read %s-%d offsets %d to %d" % (topic, partition, start, end - 1)
        self.consumer.assign([TopicPartition(topic, partition, start)])
        records = []
        deadline = time.monotonic() + self.timeout
        try:
            while time.monotonic() < deadline:
                message = self.consumer.poll(POLL_INTERVAL_S * 5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    # The end of what the partition holds now (offsets may skip: transaction markers, compaction).
                    if error.name() == "_PARTITION_EOF":
                        return records
                    raise self._failure(error.name(), error.str(), what)
                if message.offset() >= end:
                    return records
                records.append(
                    {
                        "offset": message.offset(),
                        "key": message.key(),
                        "value": message.value(),
                        "headers": list(message.headers() or []),
                        "timestamp": message.timestamp()[1],
                    }
                )
                if message.offset() >= end - 1:
                    return records
        finally:
            self.consumer.unassign()
        raise KafkaModuleError(
            "%s: only %d records arrived within %ss (request_timeout); raise it, or check the brokers' health"
            % (what, len(records), self.timeout)
        )


def config_entry_dict(entry):
    source = getattr(entry, "source", None)
    if isinstance(source, int) and not hasattr(source, "name"):
        try:
            source = ConfigSource(source)  # describe_configs gives the wire value
        except ValueError:
            pass
    return {
        "value": entry.value,
        "source": getattr(source, "name", str(source)),
        "is_default": bool(getattr(entry, "is_default", False)),
        "is_sensitive": bool(getattr(entry, "is_sensitive", False)),
    }


def connect(module, username=None, password=None):
    """A probed KafkaAdmin for module (warnings passed on); the probe result is kept as .cluster."""
    for warning in connection_warnings(module.params):
        module.warn(warning)
    admin = KafkaAdmin(module.params, username, password)
    admin.cluster = admin.probe()
    return admin


def run_module(module, body):
    """Connect (probe first), run body(module, admin) and exit; every KafkaModuleError becomes one fail_json."""
    require_kafka(module)
    run_client_module(module, KafkaModuleError, connect, body)


# --------------------------------------------------------------------------------------------
# Wire forms the client reads and writes (partitions, ACL bindings, SCRAM mechanisms)
# --------------------------------------------------------------------------------------------


def replication_factors(partitions):
    """Sorted distinct replica counts of a topic's partitions (one value when the topic is consistent)."""
    return sorted(set(len(partition["replicas"]) for partition in partitions))


def node_id(node):
    if node is None:
        return -1
    return int(getattr(node, "id", node))


# confluent-kafka calls Kafka's CLUSTER resource type BROKER (the same wire value, 4)
_RESOURCE_TYPE_NAMES = {"TOPIC": "topic", "GROUP": "group", "BROKER": "cluster", "TRANSACTIONAL_ID": "transactional_id"}


def acl_from_binding(binding):
    return {
        "principal": binding.principal,
        "resource_type": _RESOURCE_TYPE_NAMES.get(_enum_name(binding.restype), _enum_name(binding.restype).lower()),
        "resource_name": binding.name,
        "pattern_type": _enum_name(binding.resource_pattern_type).lower(),
        "operation": _enum_name(binding.operation).lower(),
        "permission": _enum_name(binding.permission_type).lower(),
        "host": binding.host,
    }


def _enum_name(value):
    return getattr(value, "name", str(value))


def acl_binding(acl, as_filter=False):
    cls = AclBindingFilter if as_filter else AclBinding
    resource_type = dict((v, k) for k, v in _RESOURCE_TYPE_NAMES.items())[acl["resource_type"]]
    return cls(
        ResourceType[resource_type],
        acl["resource_name"],
        ResourcePatternType[acl["pattern_type"].upper()],
        acl["principal"],
        acl["host"],
        AclOperation[acl["operation"].upper()],
        AclPermissionType[acl["permission"].upper()],
    )


def scram_mechanism(name):
    return ScramMechanism[name.replace("-", "_")]


def scram_mechanism_name(mechanism):
    return _enum_name(mechanism).replace("_", "-")
