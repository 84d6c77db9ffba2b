#!/bin/sh
# The serial of the certificate a TLS endpoint serves, as `openssl x509 -serial` prints it:
#   served_serial.sh HOST:PORT CA_FILE CLIENT_CERT CLIENT_KEY
# s_client's exit status is not the answer (a server may close or alert right after the handshake,
# and s_client then exits 1 although it printed the certificate): the printed certificate is. A few
# tries before giving up, for an endpoint that is restarting.
set -u
for attempt in 1 2 3 4 5; do
  serial=$(openssl s_client -connect "$1" -CAfile "$2" -cert "$3" -key "$4" </dev/null 2>/dev/null \
    | openssl x509 -noout -serial 2>/dev/null)
  if [ -n "$serial" ]; then
    echo "$serial"
    exit 0
  fi
  sleep 2
done
echo "no certificate served on $1 after $attempt tries" >&2
exit 1
