"""Log in with the host's AppRole files and report the HTTP status of three requests.

Runs on the service host (its secret ID is bound to the host's address): its own secret must be
readable (200), another service's secret and PKI role must be refused (403). For the Connect
workers' AppRole (cdc-connect): its own secret is the keystore password the agent renders
(cdc/connect/keystore), the other service's is the Kafka admin's SCRAM password (cdc/kafka/clients/admin,
readable by the kafka policy only) and the PKI role is kafka's.
Usage: approle_probe.py <vault url> <agent config dir> [secret-id file]
With a secret-id file, only the login is tried and its status printed (login=<status>).
"""

import json
import ssl
import sys
import urllib.error
import urllib.request

url, conf = sys.argv[1], sys.argv[2]
context = ssl.create_default_context(cafile=f"{conf}/ca.pem")


def call(path, token=None, body=None):
    headers = {"X-Vault-Token": token} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/v1/{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, {}


secret_id_file = sys.argv[3] if len(sys.argv) > 3 else f"{conf}/secret-id"
with open(f"{conf}/role-id") as role_id, open(secret_id_file) as secret_id:
    status, login = call("auth/approle/login", body={"role_id": role_id.read(), "secret_id": secret_id.read()})
if status != 200 or len(sys.argv) > 3:
    print(f"login={status}")
    sys.exit(0)
token = login["auth"]["client_token"]
own = call("cdc/data/connect/keystore", token)[0]
other = call("cdc/data/kafka/clients/admin", token)[0]
pki = call("pki_int/issue/kafka", token, {"common_name": "kafka-1"})[0]
print(f"own={own} other={other} pki={pki}")
