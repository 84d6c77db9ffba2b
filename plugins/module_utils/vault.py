# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport and shared rules of the cdc.pipeline Vault/OpenBao modules and the vault_secret lookup.

One place for: the connection options, building the hvac client, turning every failure into
ONE message that names the fix, the pre-write health gate, value normalization for idempotent
comparison. What one plugin alone needs (the keys file of vault_init and vault_unseal, mount
options as strings, generated passwords) lives in that plugin. Nothing here calls fail_json:
errors are raised as VaultError so the modules (fail_json) and the lookup (AnsibleError) report
them their own way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import run_module as run_client_module
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import tls_file_problem

HVAC_IMPORT_ERROR = None
try:
    import hvac
    import hvac.adapters
    import hvac.exceptions
    import requests
except ImportError:
    HAS_HVAC = False
    HVAC_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_HVAC = True

SYS_HEALTH_QUERY = {
    # Every node state answers 200, so a standby, sealed or uninitialised node is reported, not an error.
    "standbyok": "true",
    "perfstandbyok": "true",
    "sealedcode": "200",
    "uninitcode": "200",
    "drsecondarycode": "200",
}
URL_FIX = (
    "Check the url (cdc_vault_url), that the service runs and that the firewall lets this controller reach port 8200"
)


# Control characters (C0, DEL, C1) and Unicode line breaks in a store path: never part of a real one,
# and a way to forge lines in logs.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What HTTP would read otherwise: %2e%2e decodes to '..', ? starts a query, # a fragment, \ is a slash to some.
_HTTP_SPECIAL = "%?#\\"
PATH_EXAMPLE = "cdc/data/kafka/clients/admin"


def store_path(text, option="path", example=PATH_EXAMPLE):
    """text without surrounding slashes, refused when the store would resolve it somewhere else.

    The store's HTTP layer normalises `a/../b` to `b`, so `cdc/data/../../sys/policies/acl/x` would write
    a policy. Empty, `.` and `..` segments, control characters, characters HTTP reads as syntax (% ? # \\)
    and blanks around a segment are refused before any request, with one message naming the option.
    """
    if not isinstance(text, str):
        raise VaultError("%s must be a string: give the store path, for example %s" % (option, example))
    path = text.strip("/")
    if not path:
        raise VaultError("%s is empty: give the store path, for example %s" % (option, example))
    segments = path.split("/")
    if (
        _CONTROL_RE.search(path)
        or any(char in path for char in _HTTP_SPECIAL)
        or any(segment in ("", ".", "..") or segment != segment.strip() for segment in segments)
    ):
        raise VaultError(
            "%s %r has an empty, '.' or '..' segment, blanks around a segment, a control character or one of "
            "%% ? # \\: give the store path itself, for example %s" % (option, text, example)
        )
    return path


class VaultError(Exception):
    """A failure already worded for the operator: the message says what to fix."""


def connection_argument_spec(with_token=True):
    """The options of the cdc.pipeline.vault doc fragment (+ token: cdc.pipeline.vault.token)."""
    spec = dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["VAULT_ADDR"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["VAULT_CACERT"])),
        validate_certs=dict(type="bool", default=True),
        client_cert=dict(type="path"),
        client_key=dict(type="path"),
        timeout=dict(type="int", default=30),
    )
    if with_token:
        spec["token"] = dict(type="str", no_log=True, fallback=(env_fallback, ["VAULT_TOKEN"]))
    return spec


def require_hvac(module):
    if not HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=HVAC_IMPORT_ERROR)


# --------------------------------------------------------------------------------------------
# Error mapping
# --------------------------------------------------------------------------------------------


def _error_text(exc):
    errors = getattr(exc, "errors", None)
    if errors:
        return "; ".join(str(e) for e in errors)
    text = getattr(exc, "text", None) or (exc.args[0] if exc.args else "") or ""
    return " ".join(str(text).split()) or type(exc).__name__


def _root_reason(exc):
    # requests wraps urllib3 wraps socket errors; the innermost text is the one worth showing.
    reason = str(exc)
    match = re.search(r"\[Errno -?\d+\] [^'\")]+|Connection refused|timed out|Name or service not known", reason)
    return match.group(0) if match else reason


def describe_error(exc, url, method=None, path=None):  # noqa: PLR0911 - one exit per failure kind
    """Map an hvac/requests exception to one message that names the fix."""
    where = "%s %s" % (method or "GET", path or "")
    if HAS_HVAC:
        if isinstance(exc, requests.exceptions.SSLError):
            return _describe_tls_error(exc, url)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return "cannot reach Vault at %s: %s. %s" % (url, _root_reason(exc), URL_FIX)
        if isinstance(exc, requests.exceptions.RequestException):
            return "request to Vault at %s failed: %s. %s" % (url, exc, URL_FIX)
    text = _error_text(exc)
    lowered = text.lower()
    if "http request to an https server" in lowered:
        return (
            "Vault at %s answers HTTPS but the url says http://: use https:// in the url (cdc_vault_url) "
            "and set ca_cert" % url
        )
    if not HAS_HVAC or not isinstance(exc, hvac.exceptions.VaultError):
        return "unexpected error talking to Vault at %s (%s): %s" % (url, where, exc)
    if isinstance(exc, hvac.exceptions.VaultDown) or "vault is sealed" in lowered:
        return sealed_message(url)
    if isinstance(exc, hvac.exceptions.VaultNotInitialized) or "not initialized" in lowered:
        return uninitialised_message(url)
    token_path = (path or "").startswith("auth/token/lookup-self")
    if isinstance(exc, hvac.exceptions.Unauthorized) or (
        isinstance(exc, hvac.exceptions.Forbidden) and (token_path or "invalid token" in lowered)
    ):
        return (
            "the token was refused by Vault at %s (expired, revoked or wrong): log in again (admin AppRole) "
            "and pass the new token (token / cdc_vault_token / VAULT_TOKEN)" % url
        )
    if isinstance(exc, hvac.exceptions.Forbidden):
        return (
            "permission denied on %s: the token's policies do not allow it; grant it in the policy "
            "or use the admin identity" % where
        )
    if isinstance(exc, hvac.exceptions.InvalidRequest):
        return "Vault rejected %s: %s. Fix the values sent (see the message) and retry" % (where, text)
    if isinstance(exc, hvac.exceptions.InvalidPath):
        return "Vault has nothing at %s: %s. Check the path and that its mount exists (vault_mount)" % (where, text)
    return "Vault at %s failed %s (%s): %s" % (url, where, type(exc).__name__, text)


def _describe_tls_error(exc, url):
    text = str(exc)
    lowered = text.lower()
    if "certificate verify failed" in lowered or "certificate_verify_failed" in lowered:
        return (
            "TLS verification of %s failed: set ca_cert (cdc_vault_ca_cert / VAULT_CACERT) to the CA that signed "
            "the listener certificate" % url
        )
    if "wrong version number" in lowered or "record layer failure" in lowered or "packet length" in lowered:
        return (
            "%s does not speak TLS (plain HTTP?): use http:// only if the listener has tls_disable, "
            "otherwise check that the url points at the Vault listener" % url
        )
    if "hostname" in lowered or "doesn't match" in lowered or "ip address mismatch" in lowered:
        return (
            "TLS verification of %s failed: the certificate does not name this host; use the address in its "
            "subjectAltName or reissue the listener certificate" % url
        )
    return (
        "TLS handshake with %s failed: %s. Check ca_cert, and client_cert/client_key when the listener "
        "requires client certificates" % (url, _root_reason(exc))
    )


def sealed_message(url):
    return "Vault at %s is sealed: unseal it (playbooks/vault_unseal.yml or cdc.pipeline.vault_unseal) and retry" % url


def uninitialised_message(url):
    return (
        "Vault at %s is not initialised: run playbooks/security.yml (role cdc.pipeline.vault) or "
        "cdc.pipeline.vault_init first" % url
    )


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class Vault:
    """A thin hvac client: every call returns parsed JSON (or None) or raises VaultError."""

    def __init__(self, params, need_token=False):
        self.url = (params.get("url") or "").rstrip("/")
        self.token = params.get("token")
        self.timeout = params.get("timeout") or 30
        _validate_connection_params(params, need_token)
        verify = params.get("validate_certs", True)
        if verify and params.get("ca_cert"):
            verify = params["ca_cert"]
        cert = None
        if params.get("client_cert"):
            cert = (params["client_cert"], params["client_key"])
        # RawAdapter: we parse the body ourselves (PEM endpoints and 204s are not JSON).
        self.client = hvac.Client(
            url=self.url,
            token=self.token or "",
            verify=verify,
            cert=cert,
            timeout=self.timeout,
            adapter=hvac.adapters.RawAdapter,
        )
        # Never pick up a proxy from the environment for a cluster reached directly.
        self.client.adapter.session.trust_env = False

    def request(self, method, path, data=None, params=None):
        path = store_path(path)
        kwargs = {}
        if data is not None:
            kwargs["json"] = data
        if params:
            kwargs["params"] = params
        try:
            response = self.client.adapter.request(method, "/v1/" + path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one worded message
            raise VaultError(describe_error(exc, self.url, method, path)) from exc
        return _parse_body(response)

    def read(self, path, params=None):
        """GET path; None when Vault has nothing there (404)."""
        try:
            return self.request("GET", path, params=params)
        except VaultError as exc:
            if isinstance(exc.__cause__, hvac.exceptions.InvalidPath):
                return None
            raise

    def write(self, path, data):
        return self.request("POST", path, data=data)

    def delete(self, path):
        return self.request("DELETE", path)

    # -- health gate ------------------------------------------------------------------------

    def health(self):
        return self.request("GET", "sys/health", params=SYS_HEALTH_QUERY) or {}

    def preflight(self, need_token=True, wait_for_leader=True):
        """Fail before any write unless Vault is reachable, initialised, unsealed (and the token works)."""
        health = self.health()
        if not health.get("initialized", False):
            raise VaultError(uninitialised_message(self.url))
        if health.get("sealed", False):
            raise VaultError(sealed_message(self.url))
        if health.get("standby") and wait_for_leader:
            self._wait_for_leader()
        if need_token:
            self.lookup_self()
        return health

    def lookup_self(self):
        return (self.request("GET", "auth/token/lookup-self") or {}).get("data") or {}

    def _wait_for_leader(self):
        # A freshly unsealed raft node is standby until it wins an election; writes would fail.
        deadline = time.monotonic() + max(self.timeout, 5)
        while True:
            leader = self.request("GET", "sys/leader") or {}
            if leader.get("leader_address") or leader.get("is_self"):
                return
            if time.monotonic() > deadline:
                raise VaultError(
                    "Vault at %s is unsealed but has no active node (raft has no leader): unseal a quorum of "
                    "nodes (cdc.pipeline.vault_unseal on each) and retry" % self.url
                )
            time.sleep(0.5)


def _validate_connection_params(params, need_token):
    url = params.get("url") or ""
    if not re.match(r"^https?://[^/\s]+", url):
        raise VaultError(
            "url %r is not a Vault address: give it as https://<host>:8200 (cdc_vault_url / VAULT_ADDR)" % url
        )
    problem = tls_file_problem(params, "the CA bundle that signed the store's listener certificate (cdc_vault_ca_cert)")
    if problem:
        raise VaultError(problem)
    if need_token and not params.get("token"):
        raise VaultError(
            "no Vault token: set token (cdc_vault_token, or VAULT_TOKEN in the environment) to a token "
            "from the admin AppRole login"
        )


def _parse_body(response):
    if response is None or response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"_raw": response.text}


# --------------------------------------------------------------------------------------------
# Normalization and comparison
# --------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value):
    """Seconds of a Vault duration ("72h", "1h30m", "30m", 259200, "259200", "0"); None if not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if re.match(r"^\d+$", text):
        return int(text)
    if not text or not re.match(r"^(%s)+$" % _DURATION_PART.pattern, text):
        return None
    total = sum(float(num) * _DURATION_SECONDS[unit] for num, unit in _DURATION_PART.findall(text))
    return int(total)


def _as_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    return None


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [value]


def _normalize_text(value):
    # HCL policies and PEM come back with different trailing whitespace on lines and at the end.
    return "\n".join(line.rstrip() for line in str(value).strip().splitlines())


def _is_empty(value):
    return value is None or value in ("", [], {})


def _scalar_equal(wanted, current):
    if isinstance(wanted, bool) or isinstance(current, bool):
        return _as_bool(wanted) == _as_bool(current) and _as_bool(wanted) is not None
    if _normalize_text(wanted) == _normalize_text(current):
        return True
    try:
        if float(wanted) == float(current):
            return True
    except (TypeError, ValueError):
        pass
    wanted_s, current_s = duration_seconds(wanted), duration_seconds(current)
    return wanted_s is not None and wanted_s == current_s


def values_equal(wanted, current):
    """True when the value Vault returned means the same as the wanted one.

    Vault reads back durations as seconds, numbers as strings or numbers, lists as lists where a
    comma-separated string was written, and policies with other trailing whitespace.
    """
    if _is_empty(wanted) or _is_empty(current):
        return _is_empty(wanted) and _is_empty(current)
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return False
        return all(values_equal(value, current.get(key)) for key, value in wanted.items())
    if isinstance(wanted, (list, tuple)) or isinstance(current, (list, tuple)):
        return _lists_equal(_as_list(wanted), _as_list(current))
    return _scalar_equal(wanted, current)


def _set_item(item):
    """A scalar list element as Vault keeps it: a host CIDR (/32, /128) of token_bound_cidrs reads back bare."""
    text = _normalize_text(item)
    if "/" in text:
        try:
            interface = ipaddress.ip_interface(text)
        except ValueError:
            return text
        if interface.network.prefixlen == interface.max_prefixlen:
            return str(interface.ip)
    return text


def _lists_equal(wanted, current):
    if len(wanted) != len(current):
        return False
    if all(not isinstance(item, (dict, list)) for item in wanted + current):
        # Lists of scalars (policies, CIDRs, allowed domains) are sets to Vault.
        return sorted(_set_item(item) for item in wanted) == sorted(_set_item(item) for item in current)
    return all(values_equal(w, c) for w, c in zip(wanted, current, strict=True))


def changed_keys(wanted, current, skip_missing=False):
    """Keys of `wanted` whose value differs from `current` (a dict). skip_missing: ignore keys Vault did not return."""
    return sorted(
        key
        for key, value in wanted.items()
        if not (skip_missing and key not in current) and not values_equal(value, current.get(key))
    )


def run_module(module, body, need_token=True):
    """Build the client, run body(module, vault) and exit; every VaultError becomes one fail_json."""
    require_hvac(module)
    run_client_module(module, VaultError, lambda module: Vault(module.params, need_token=need_token), body)
