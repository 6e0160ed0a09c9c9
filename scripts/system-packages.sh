#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when they are missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# The OpenID provider the single sign-on tests start (tests/oidc, npm package oidc-provider).
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# The conformance tier's real kube-apiserver (../shared/realapi/up.sh) runs on etcd.
realapi_home=${TIDEWATCH_REALAPI_HOME:-$(dirname "$0")/../../shared/realapi}
if [ -f "$realapi_home/up.sh" ]; then
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v xz >/dev/null || need+=(xz-utils)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
