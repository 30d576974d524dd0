#!/usr/bin/env bash
# The README's "HTTP service" commands, run as written: install the extra, create a tenant key,
# start `segengine serve`, send the seed's curl example with the demo customers, expect a 200.
set -euo pipefail
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

pip install --quiet ".[service]"
port="${SMOKE_PORT:-8000}"
tenant="3f1c2b9e-8d4a-4c7e-9b1a-2d5e6f7a8b9c"
segengine tenants add "$work/tenants.json" --tenant "$tenant" > "$work/key.txt"
token="$(awk '/token:/ {print $2}' "$work/key.txt")"
secret="$(awk '/secret:/ {print $2}' "$work/key.txt")"
segengine tenants list "$work/tenants.json"

segengine serve --tenants "$work/tenants.json" --port "$port" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 1 300); do
    curl -sf http://127.0.0.1:$port/readyz >/dev/null && break
    kill -0 "$server_pid" || { cat "$work/server.log"; exit 1; }
    sleep 1
done

python -c "import json, segengine.datasets as d; json.dump({'data': d.load_demo_customers(n=1000)[0], 'options': {}, 'include_metadata': True}, open('$work/body.json', 'w'))"
status="$(curl -s -o "$work/report.json" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $token" \
  -H "X-Customer-Api-Id: $tenant" \
  -H "X-Secret: $secret" \
  -H "Accept-Language: en" \
  -H "Content-Type: application/json" \
  -d @"$work/body.json" \
  "http://127.0.0.1:$port/api/v1/ai/echointel/customer-intelligence/segmentation-report")"
echo "HTTP $status"
test "$status" = 200
python -c "import json; r = json.load(open('$work/report.json')); assert len(r['results']) == 1000, r; print(r['summary']['n_segments'], 'segments')"
