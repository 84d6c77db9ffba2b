#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_pki_ca
short_description: Set up a root and an intermediate CA in Vault/OpenBao PKI engines idempotently
version_added: 0.1.0
description:
  - Root CA in O(root_mount). When it has none, one is generated inside Vault (the key never leaves it)
    or, with O(root_pem_bundle), imported. An existing root is never replaced; importing a different
    root fails.
  - Or an offline root (O(root_signer_cert) and O(root_signer_key), files on the machine running the
    module, normally the controller) signs the intermediate locally; the root key is never sent to
    Vault and O(root_mount) is not used.
  - Intermediate CA in O(intermediate_mount). Left alone while it is issued by the current root (issuer
    name and signature checked), has the wanted common name and is valid for longer than
    O(renew_before). Otherwise a new key and CSR are generated in the intermediate mount, signed by
    the root, imported with the root appended, and made the default issuer, so a re-signed
    intermediate takes over.
  - Both mounts must exist (M(cdc.pipeline.vault_mount), type C(pki)) with a C(max_lease_ttl) at least
    the TTL asked for; the module checks that before any write.
  - All or nothing. Every option is checked before the store is asked anything - mount paths (no C(..),
    C(.), empty segments, control characters), durations, key size, names (not empty, no control
    characters, at most 64 characters), O(urls_base), and O(root_pem_bundle) whole (its key is the
    certificate's, unencrypted and the only one, further certificates form a chain, a lone certificate is
    self-signed). An existing root must hold its key in the store. Should a step fail after the first
    write (the store refuses to sign, a token lacks a permission), the issuers and keys this run created are
    deleted again and the message says so, or names what could not be removed.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
  - cdc.pipeline.vault.token
attributes:
  check_mode:
    support: full
    description: Predicts whether a root, an intermediate or the URLs would be written; writes nothing.
  diff_mode:
    support: full
    description: Subjects and expiry of both CAs and the URLs, before and after.
options:
  root_mount:
    description: Path of the root PKI engine.
    type: str
    default: pki_root
  root_common_name:
    description:
      - Common name of a generated root. Required unless O(root_pem_bundle) or O(root_signer_cert) is given.
    type: str
  root_ttl:
    description: Validity of a generated root.
    type: str
    default: 87600h
  root_pem_bundle:
    description:
      - Root certificate and its private key (PEM) to import instead of generating a root inside Vault.
    type: str
  root_signer_cert:
    description:
      - PEM file of an offline root CA that signs the intermediate on the machine running the module.
        Give it with O(root_signer_key); then no root lives in Vault.
    type: path
  root_signer_key:
    description:
      - PEM file (unencrypted) of the private key of O(root_signer_cert). It is read locally and never sent.
    type: path
  intermediate_mount:
    description: Path of the intermediate PKI engine.
    type: str
    default: pki_int
  intermediate_common_name:
    description: Common name of the intermediate CA.
    type: str
    required: true
  intermediate_ttl:
    description: Validity of the intermediate CA.
    type: str
    default: 43800h
  key_type:
    description: Key type of the generated keys.
    type: str
    choices: [ec, rsa]
    default: ec
  key_bits:
    description:
      - Key size. Defaults to 384 for C(ec) (P-384) and 4096 for C(rsa).
    type: int
  organization:
    description: Organization (O) of the generated certificates.
    type: str
  urls_base:
    description:
      - Base URL of Vault as clients reach it (for example C(https://vault.example:8200)). Sets
        C(<mount>/config/urls) on both mounts to C(<base>/v1/<mount>/ca) and C(<base>/v1/<mount>/crl).
    type: str
  renew_before:
    description:
      - Re-sign the intermediate when it is valid for less than this.
    type: str
    default: 8760h
requirements:
  - cryptography
"""

EXAMPLES = r"""
- name: Root and intermediate CA of the pipeline
  cdc.pipeline.vault_pki_ca:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    root_common_name: CDC Pipeline Root CA
    intermediate_common_name: CDC Pipeline Intermediate CA
    organization: CDC
    urls_base: "{{ cdc_vault_url }}"
  delegate_to: localhost
"""

RETURN = r"""
root_certificate:
  description: The root CA certificate (PEM). Absent in check mode when the root would be generated.
  returned: when a root exists
  type: str
intermediate_certificate:
  description:
    - The intermediate CA certificate (PEM) after the task.
    - In check mode, the current one (even when it would be re-signed).
  returned: when an intermediate exists
  type: str
ca_chain:
  description: Intermediate then root certificate (PEM), for trust bundles.
  returned: when both exist
  type: list
  elements: str
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [generate root, sign intermediate, set urls pki_root]
"""

import datetime
import re
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    VaultError,
    changed_keys,
    connection_argument_spec,
    duration_seconds,
    run_module,
    store_path,
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True

DEFAULT_KEY_BITS = {"ec": 384, "rsa": 4096}
VALID_KEY_BITS = {"ec": (224, 256, 384, 521), "rsa": (2048, 3072, 4096, 8192)}


# -- certificates -----------------------------------------------------------------------------


def load_cert(pem):
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def pem_of(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def not_after(cert):
    return cert.not_valid_after_utc


def common_name(cert):
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return names[0].value if names else ""


def issued_by(cert, issuer):
    """True when issuer signed cert (names match and the signature verifies)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - any verification error means "not issued by it"
        return False
    return True


def split_bundle(pem_bundle):
    """Certificate of a PEM bundle (cert + key), checked before anything is written; fails clearly when it is not one.

    The key must be the certificate's (Vault would import a key of another CA as an orphan, and the
    certificate as an issuer that cannot sign), unencrypted and the only one; further certificates must
    each have signed the one before (a chain), and a lone certificate must be self-signed (a root).
    """
    text = pem_bundle if isinstance(pem_bundle, str) else ""
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise VaultError("root_pem_bundle holds no PEM certificate: give the root certificate and its key")
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise VaultError("root_pem_bundle has a certificate that does not parse: give the PEM as exported") from exc
    if "PRIVATE KEY-----" not in text:
        raise VaultError("root_pem_bundle has no private key: Vault needs the root's key to sign the intermediate")
    if text.count("-----BEGIN ") - text.count("-----BEGIN CERTIFICATE-----") != 1:
        raise VaultError("root_pem_bundle must hold exactly one private key (the root's) besides the certificates")
    key_pem = _private_key_block(text)
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError as exc:
        raise VaultError("the private key in root_pem_bundle is encrypted: give it unencrypted") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VaultError("the private key in root_pem_bundle does not parse: give the PEM key as exported") from exc
    cert = certs[0]
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise VaultError(
            "the private key in root_pem_bundle is not the key of its certificate (%s): give the root "
            "certificate with its own key" % cert.subject.rfc4514_string()
        )
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if not constraints or not constraints.ca:
        raise VaultError("the certificate in root_pem_bundle is not a CA (basicConstraints CA:TRUE missing)")
    for lower, upper in zip(certs, certs[1:], strict=False):
        if not issued_by(lower, upper):
            raise VaultError(
                "the certificates in root_pem_bundle are not a chain: %s was not signed by %s; give the root "
                "first, then the CAs above it in order"
                % (lower.subject.rfc4514_string(), upper.subject.rfc4514_string())
            )
    if len(certs) == 1 and not issued_by(cert, cert):
        raise VaultError(
            "the certificate in root_pem_bundle (%s) is not self-signed: a root CA signs itself; add the CAs above "
            "it after it, in order" % cert.subject.rfc4514_string()
        )
    return cert


def _private_key_block(text):
    begin = [
        index for index in _all_indexes(text, "-----BEGIN ") if not text.startswith("-----BEGIN CERTIFICATE", index)
    ]
    start = begin[0]
    end_marker = text.index("-----END ", start)
    end = text.index("-----", end_marker + len("-----END ")) + len("-----")
    return text[start:end] + "\n"


def _all_indexes(text, needle):
    index = text.find(needle)
    while index >= 0:
        yield index
        index = text.find(needle, index + 1)


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- validation before any write --------------------------------------------------------------


def validate_params(params):
    """Every option checked before the store is asked anything; returns the key size. Mount paths are normalised."""
    for option in ("root_mount", "intermediate_mount"):
        params[option] = store_path(params[option], option, example="pki_int")
    for option in ("root_ttl", "intermediate_ttl", "renew_before"):
        seconds = duration_seconds(params[option]) if isinstance(params[option], (str, int)) else None
        if seconds is None or seconds <= 0:
            raise VaultError("%s %r is not a duration: use a Vault duration such as 8760h" % (option, params[option]))
    key_bits = params["key_bits"] or DEFAULT_KEY_BITS[params["key_type"]]
    if key_bits not in VALID_KEY_BITS[params["key_type"]]:
        raise VaultError(
            "key_bits %d is not valid for key_type %s: use one of %s"
            % (key_bits, params["key_type"], ", ".join(str(b) for b in VALID_KEY_BITS[params["key_type"]]))
        )
    if not (params["intermediate_common_name"] or "").strip():
        raise VaultError(
            "intermediate_common_name is empty: give the intermediate CA's name, e.g. cdc-vault intermediate CA"
        )
    if params.get("root_common_name") is not None and not params["root_common_name"].strip():
        raise VaultError("root_common_name is empty: give the root CA's name, e.g. cdc-vault root CA")
    for option in ("intermediate_common_name", "root_common_name", "organization"):
        value = params.get(option)
        if value is not None and (_CONTROL_RE.search(value) or value != value.strip() or len(value) > 64):
            raise VaultError(
                "%s %r has a control character, blanks around it or more than 64 characters (the X.509 limit): "
                "give the name as it should read in the certificate" % (option, value)
            )
    if params["root_mount"] == params["intermediate_mount"]:
        raise VaultError("root_mount and intermediate_mount must differ: the root and intermediate live apart")
    if params["urls_base"] and not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", params["urls_base"]):
        raise VaultError(
            "urls_base %r is not a Vault address: give it as https://<host>:8200 (the address clients use)"
            % params["urls_base"]
        )
    return key_bits


def check_mount(vault, mount, ttl, ttl_option):
    """The mount must be a pki engine whose effective max_lease_ttl covers ttl."""
    mounts = vault.request("GET", "sys/mounts") or {}
    entry = (mounts.get("data") or mounts).get(mount + "/")
    if not entry:
        raise VaultError(
            "PKI mount %s does not exist: create it first with cdc.pipeline.vault_mount (type pki, config "
            "max_lease_ttl >= %s)" % (mount, ttl)
        )
    if entry.get("type") != "pki":
        raise VaultError(
            "mount %s is a %s engine, not pki: point the module at a pki mount" % (mount, entry.get("type"))
        )
    tune = (vault.request("GET", "sys/mounts/%s/tune" % mount) or {}).get("data") or {}
    if int(tune.get("max_lease_ttl") or 0) < duration_seconds(ttl):
        raise VaultError(
            "mount %s allows at most %ss (max_lease_ttl) but %s is %s: raise max_lease_ttl with vault_mount "
            "(config max_lease_ttl) or lower %s" % (mount, tune.get("max_lease_ttl"), ttl_option, ttl, ttl_option)
        )


def read_ca(vault, mount):
    """The mount's default issuer certificate, or None (Vault answers 204 when it has none)."""
    answer = vault.request("GET", "%s/ca/pem" % mount)
    pem = (answer or {}).get("_raw", "").strip()
    return load_cert(pem) if pem else None


# -- steps ------------------------------------------------------------------------------------


def key_params(params, key_bits):
    body = {"key_type": params["key_type"], "key_bits": key_bits}
    if params["organization"]:
        body["organization"] = params["organization"]
    return body


class Undo:
    """What this run created in the store, to remove again when a later step fails (PKI has no transaction).

    Issuers are removed before keys: the store refuses to delete a key an issuer still uses.
    """

    def __init__(self, vault):
        self.vault = vault
        self.issuers = []  # (mount, issuer id)
        self.keys = []  # (mount, key id)

    def created(self, mount, answer):
        data = (answer or {}).get("data") or {}
        for issuer_id in ([data.get("issuer_id")] if data.get("issuer_id") else []) + list(
            data.get("imported_issuers") or []
        ):
            self.issuers.append((mount, issuer_id))
        for key_id in ([data.get("key_id")] if data.get("key_id") else []) + list(data.get("imported_keys") or []):
            self.keys.append((mount, key_id))

    def run(self):
        """Delete what was created; the words for the failure message (what was undone, what is left)."""
        undone, left = [], []
        for kind, items in (("issuer", self.issuers), ("key", self.keys)):
            for mount, ref in reversed(items):
                path = "%s/%s/%s" % (mount, kind, ref)
                try:
                    self.vault.delete(path)
                except VaultError as exc:
                    left.append("%s %s in %s (%s; delete it with DELETE %s)" % (kind, ref, mount, exc, path))
                else:
                    undone.append("%s %s in %s" % (kind, ref, mount))
        if left:
            return "rolled back: %s; LEFT BEHIND: %s" % (", ".join(undone) or "nothing", ", ".join(left))
        if undone:
            return "rolled back what this run had written (%s): the mounts are as before" % ", ".join(undone)
        return "nothing was written"


def ensure_root(module, vault, key_bits, actions, undo):
    params = module.params
    mount = params["root_mount"]
    root = read_ca(vault, mount)
    wanted = split_bundle(params["root_pem_bundle"]) if params["root_pem_bundle"] else None
    if root is not None:
        if wanted is not None and wanted != root:
            raise VaultError(
                "%s already has a root CA (%s) that is not the one in root_pem_bundle (%s): a root is never "
                "replaced; drop root_pem_bundle or move to a new mount"
                % (mount, root.subject.rfc4514_string(), wanted.subject.rfc4514_string())
            )
        check_root_can_sign(vault, mount, root)
        return root
    if wanted is None and not params["root_common_name"]:
        raise VaultError("%s has no root CA yet: give root_common_name (or root_pem_bundle to import one)" % mount)
    actions.append("import root" if wanted is not None else "generate root")
    if module.check_mode:
        return wanted
    if wanted is not None:
        undo.created(mount, vault.write("%s/config/ca" % mount, {"pem_bundle": params["root_pem_bundle"]}))
    else:
        body = key_params(params, key_bits)
        body.update(common_name=params["root_common_name"], ttl=params["root_ttl"])
        undo.created(mount, vault.write("%s/root/generate/internal" % mount, body))
    return read_ca(vault, mount)


def check_root_can_sign(vault, mount, root):
    """The root mount's default issuer must hold its key, else signing fails after the intermediate key exists."""
    issuer = (vault.read("%s/issuer/default" % mount) or {}).get("data") or {}
    if "key_id" in issuer and not issuer.get("key_id"):
        raise VaultError(
            "the root CA in %s (%s) has no private key in the store, so it cannot sign the intermediate: import "
            "its key (root_pem_bundle with certificate and key) or use another root_mount; nothing was changed"
            % (mount, root.subject.rfc4514_string())
        )


def intermediate_is_current(params, intermediate, root):
    if intermediate is None or root is None or not issued_by(intermediate, root):
        return False
    if common_name(intermediate) != params["intermediate_common_name"]:
        return False
    left = not_after(intermediate) - datetime.datetime.now(datetime.timezone.utc)
    return left.total_seconds() > duration_seconds(params["renew_before"])


def sign_intermediate(vault, params, key_bits, root, undo, offline=None):
    """New key and CSR in the intermediate mount, signed by the root, imported and made the default issuer.

    Every issuer and key this creates is recorded in undo, so a failure at any step can remove them.
    """
    root_mount = params["root_mount"]
    int_mount = params["intermediate_mount"]
    body = key_params(params, key_bits)
    body["common_name"] = params["intermediate_common_name"]
    generated = vault.write("%s/intermediate/generate/internal" % int_mount, body)
    undo.created(int_mount, generated)
    csr = ((generated or {}).get("data") or {}).get("csr")
    if not csr:
        raise VaultError(
            "%s/intermediate/generate/internal returned no CSR: check the mount and key options" % int_mount
        )
    sign = {
        "csr": csr,
        "common_name": params["intermediate_common_name"],
        "ttl": params["intermediate_ttl"],
        "format": "pem",
    }
    if params["organization"]:
        sign["organization"] = params["organization"]
    if offline is not None:
        signed = offline.sign(csr, duration_seconds(params["intermediate_ttl"]))
    else:
        signed = ((vault.write("%s/root/sign-intermediate" % root_mount, sign) or {}).get("data") or {}).get(
            "certificate"
        )
    if not signed:
        raise VaultError("%s/root/sign-intermediate returned no certificate" % root_mount)
    chain = signed.strip() + "\n" + pem_of(root)
    answer = vault.write("%s/intermediate/set-signed" % int_mount, {"certificate": chain}) or {}
    imported = answer.get("data") or {}
    undo.issuers.extend((int_mount, issuer_id) for issuer_id in imported.get("imported_issuers") or [])
    issuer_id = find_issuer(vault, int_mount, imported, load_cert(signed))
    vault.write("%s/config/issuers" % int_mount, {"default": issuer_id})


def find_issuer(vault, mount, imported, cert):
    """The issuer id of cert among those set-signed imported (or already had, on a repeat)."""
    candidates = (imported.get("imported_issuers") or []) + (imported.get("existing_issuers") or [])
    for issuer_id in candidates:
        data = (vault.request("GET", "%s/issuer/%s" % (mount, issuer_id)) or {}).get("data") or {}
        if data.get("certificate") and load_cert(data["certificate"].strip()) == cert:
            return issuer_id
    raise VaultError("the signed intermediate was imported into %s but its issuer id was not found" % mount)


class OfflineRoot:
    """A root CA whose key stays in a local file: it signs the intermediate's CSR here."""

    def __init__(self, cert_path, key_path):
        try:
            with open(cert_path, "rb") as handle:
                self.cert = load_cert(handle.read())
            with open(key_path, "rb") as handle:
                self.key = serialization.load_pem_private_key(handle.read(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise VaultError(
                "cannot load the offline root (root_signer_cert %s, root_signer_key %s): %s; give the PEM files of the "
                "controller CA (an unencrypted key)" % (cert_path, key_path, exc)
            ) from exc
        if self.cert.public_key().public_numbers() != self.key.public_key().public_numbers():
            raise VaultError("root_signer_key %s is not the key of root_signer_cert %s" % (key_path, cert_path))

    def sign(self, csr_pem, ttl_seconds):
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        now = datetime.datetime.now(datetime.timezone.utc)
        # Never outlive the root: a chain is only as valid as its shortest link.
        end = min(now + datetime.timedelta(seconds=ttl_seconds), not_after(self.cert))
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(end)
            # pathlen 0: the intermediate issues leaves only. keyCertSign and cRLSign, or Vault cannot sign CRLs.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        return pem_of(builder.sign(self.key, hashes.SHA384()))


def urls_for(base, mount):
    base = base.rstrip("/")
    return {
        "issuing_certificates": ["%s/v1/%s/ca" % (base, mount)],
        "crl_distribution_points": ["%s/v1/%s/crl" % (base, mount)],
    }


def ensure_urls(module, vault, mount, actions):
    wanted = urls_for(module.params["urls_base"], mount)
    current = (vault.read("%s/config/urls" % mount) or {}).get("data") or {}
    if not changed_keys(wanted, current):
        return
    actions.append("set urls %s" % mount)
    if not module.check_mode:
        vault.write("%s/config/urls" % mount, wanted)


def describe(cert):
    if cert is None:
        return None
    return {"subject": cert.subject.rfc4514_string(), "not_after": not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ")}


def run(module, vault):
    params = module.params
    key_bits = validate_params(params)
    if params["root_pem_bundle"] is not None:
        split_bundle(params["root_pem_bundle"])
    offline = OfflineRoot(params["root_signer_cert"], params["root_signer_key"]) if params["root_signer_cert"] else None
    vault.preflight()
    root_mount = params["root_mount"].strip("/")
    int_mount = params["intermediate_mount"].strip("/")
    if offline is None:
        check_mount(vault, root_mount, params["root_ttl"], "root_ttl")
    check_mount(vault, int_mount, params["intermediate_ttl"], "intermediate_ttl")

    actions = []
    current_root = offline.cert if offline is not None else read_ca(vault, root_mount)
    before = {"root": describe(current_root), "intermediate": describe(read_ca(vault, int_mount))}
    undo = Undo(vault)
    try:
        root = offline.cert if offline is not None else ensure_root(module, vault, key_bits, actions, undo)
        intermediate = read_ca(vault, int_mount)
        if not intermediate_is_current(params, intermediate, root):
            actions.append("sign intermediate" + (" with the offline root" if offline is not None else ""))
            if not module.check_mode:
                sign_intermediate(vault, params, key_bits, root, undo, offline)
                intermediate = read_ca(vault, int_mount)
    except VaultError as exc:
        raise VaultError("%s; %s" % (exc, undo.run())) from exc
    if params["urls_base"]:
        if offline is None:
            ensure_urls(module, vault, root_mount, actions)
        ensure_urls(module, vault, int_mount, actions)

    result = {"changed": bool(actions), "actions": actions}
    if root is not None:
        result["root_certificate"] = pem_of(root)
    if intermediate is not None:  # in check mode: the current one, even if it would be re-signed
        result["intermediate_certificate"] = pem_of(intermediate)
        if root is not None:
            result["ca_chain"] = [pem_of(intermediate), pem_of(root)]
    if actions:
        after = {"root": describe(root), "intermediate": describe(intermediate)}
        if module.check_mode and any(action.startswith("sign intermediate") for action in actions):
            after["intermediate"] = {"subject": "CN=%s (to be signed)" % params["intermediate_common_name"]}
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        root_mount=dict(type="str", default="pki_root"),
        root_common_name=dict(type="str"),
        root_ttl=dict(type="str", default="87600h"),
        root_pem_bundle=dict(type="str", no_log=True),
        root_signer_cert=dict(type="path"),
        root_signer_key=dict(type="path", no_log=False),
        intermediate_mount=dict(type="str", default="pki_int"),
        intermediate_common_name=dict(type="str", required=True),
        intermediate_ttl=dict(type="str", default="43800h"),
        key_type=dict(type="str", choices=["ec", "rsa"], default="ec"),
        key_bits=dict(type="int"),
        organization=dict(type="str"),
        urls_base=dict(type="str"),
        renew_before=dict(type="str", default="8760h"),
    )
    module = SecretSafeModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("root_common_name", "root_pem_bundle", "root_signer_cert")],
        required_together=[("root_signer_cert", "root_signer_key")],
        mutually_exclusive=[("root_pem_bundle", "root_signer_cert")],
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    run_module(module, run)


if __name__ == "__main__":
    main()
