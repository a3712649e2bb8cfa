#!/usr/bin/env sh
# Makes a self-signed development certificate for localhost and 127.0.0.1
# (with subjectAltName, which browsers require), valid for 30 days:
#   certs/dev-cert.pem and certs/dev-key.pem (both git-ignored).
# Usage: certs/make-dev-cert.sh [output-folder]
set -eu
out=${1:-"$(dirname "$0")"}
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/dev-key.pem" -out "$out/dev-cert.pem" 2>/dev/null
chmod 644 "$out/dev-cert.pem"
echo "wrote $out/dev-cert.pem and $out/dev-key.pem"
