#!/usr/bin/env bash
# Start the services the suite needs (redis-server, PostgreSQL, and a real kube-apiserver when
# ../shared/realapi is beside the clone) on private ports and temp dirs, install the npm
# packages of tests/oidc when missing, run the whole suite on SQLite and again on PostgreSQL,
# and stop the services on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
work=$(mktemp -d /tmp/tidewatch-test.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  [ -n "${realapi_dir:-}" ] && bash "$realapi_home/down.sh" "$realapi_dir" >/dev/null 2>&1 || true
  [ -n "${pg_dir:-}" ] && run_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m immediate stop >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { $BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- redis -------------------------------------------------------------------------------
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile "$work/redis.log" &
pids+=($!)
export REDIS_URL="redis://127.0.0.1:$redis_port/0"

# --- postgres (refuses to run as root: use the postgres account the package created) -------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
run_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi; }
pg_dir="$work/pg"
mkdir -p "$pg_dir"; [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
pg_port=$(free_port)
run_pg "$pg_bin/initdb" -D "$pg_dir" -A trust -U tidewatch >/dev/null
run_pg "$pg_bin/pg_ctl" -D "$pg_dir" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
run_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U tidewatch tidewatch

for _ in $(seq 50); do $BIN/python -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null && break; sleep 0.1; done

# --- a real kube-apiserver for the conformance tier (tests/conformance), when ../shared/realapi
# is beside the clone (CI) and the selected tests include the tier (~20-40 s to start) --------
realapi_home=${TIDEWATCH_REALAPI_HOME:-../shared/realapi}
wants_conformance() {
  local arg found_path=0
  for arg in "$@"; do
    case "$arg" in -*) continue ;; esac
    local path=${arg%%::*}
    [ -e "$path" ] || continue
    found_path=1
    path=$(realpath "$path")
    case "$path/" in "$PWD/tests/conformance/"*) return 0 ;; esac
    case "$PWD/tests/conformance/" in "$path/"*) return 0 ;; esac
  done
  [ "$found_path" -eq 0 ]  # no path given: the whole suite
}
if [ -f "$realapi_home/up.sh" ] && [ -z "${TIDEWATCH_REALAPI_DIR:-}" ] && wants_conformance "$@"; then
  realapi_dir="$work/realapi"
  started=$SECONDS
  if bash "$realapi_home/up.sh" "$realapi_dir" >"$work/realapi.log" 2>&1; then
    export TIDEWATCH_REALAPI_DIR="$realapi_dir"
    echo "== real kube-apiserver up in $((SECONDS - started)) s ($(tail -1 "$work/realapi.log"))"
  else
    # The tier then fails (TIDEWATCH_REQUIRE_SERVICES=1) and says why; the rest still runs.
    echo "== real kube-apiserver did not start:"; tail -20 "$work/realapi.log"
    tail -20 "$realapi_dir/logs/"*.log 2>/dev/null || true
  fi
fi

# --- the OpenID provider of the single sign-on tests (tests/oidc: oidc-provider from npm, the
# exact versions of package-lock.json); a clean clone has no node_modules yet ----------------
if [ ! -d tests/oidc/node_modules ]; then
  echo "== npm ci in tests/oidc"
  # On failure the OIDC tests fail and say the packages are missing; the rest still runs.
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error) || echo "== npm ci failed"
fi

export TIDEWATCH_REQUIRE_SERVICES=1
echo "== lint"
$BIN/ruff check .
echo "== suite on SQLite"
$BIN/pytest -q -p no:cacheprovider "$@"
# The whole suite's second pass runs only the tests that reach the database (tests/conftest.py
# deselects the others: pure parsers, the demo server, the deploy files, the conformance tier's
# API-only tests ran the same in the SQLite pass) and leaves out the Chromium tier: it tests
# what a browser shows and does, which the database under the pages does not change, and the
# pages' queries are tested on PostgreSQL by tests/dashboard. Named paths run as given, browser
# tests and all. This keeps CI under its 30 minutes as the suite grows.
pg_args=("$@")
any_path=0
for arg in "$@"; do case "$arg" in -*) ;; *) any_path=1 ;; esac; done
only_db=0
[ "$any_path" -eq 0 ] && { pg_args+=(--ignore=tests/browser); only_db=1; }
echo "== suite on PostgreSQL"
DATABASE_URL="postgres://tidewatch@127.0.0.1:$pg_port/tidewatch" TIDEWATCH_DATABASE_TESTS_ONLY=$only_db \
  $BIN/pytest -q -p no:cacheprovider "${pg_args[@]}"
