#!/usr/bin/env bash
# Property-based API testing of login-sandbox with schemathesis (PyPI, in a venv): starts the
# sandbox on a free loopback port, runs every check (`--checks all`) against its own
# /openapi.json, and fails on any finding. See schemathesis/schemathesis.toml for the real
# values mixed into the generated data and schemathesis/hooks.py for the two rules OpenAPI
# cannot state.
#
# Environment: CARGO_TARGET_DIR (default: the workspace's target/), SCHEMATHESIS_SEED (default
# fixed, so a CI failure reproduces), SCHEMATHESIS_MAX_EXAMPLES (default 100 per operation).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/schemathesis-venv"
reports="$target/schemathesis"
# Pinned: a new release may add checks; move the pin on purpose.
version="4.32.5"
seed="${SCHEMATHESIS_SEED:-20261203}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-100}"

if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

(cd "$root" && cargo build --quiet --locked -p login-sandbox)
mkdir -p "$reports"
out="$reports/sandbox.stdout"
"$target/debug/login-sandbox" --listen 127.0.0.1:0 --config "$here/schemathesis/sandbox.json" \
  >"$out" 2>"$reports/sandbox.log" &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^listening on //p' "$out" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$sandbox" 2>/dev/null || { echo "the sandbox exited:" >&2; cat "$reports/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the sandbox did not print its URL within 10 s" >&2; exit 1; }
echo "sandbox at $url; schemathesis $version, seed $seed, $max_examples examples per operation"

cd "$here/schemathesis"
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here/schemathesis${PYTHONPATH:+:$PYTHONPATH}" \
  "$venv/bin/schemathesis" --config-file schemathesis.toml run "$url/openapi.json" \
    --url "$url" \
    --checks all \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --workers 1 \
    --no-color \
    --report junit --report-dir "$reports"
