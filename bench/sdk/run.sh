#!/usr/bin/env bash
# End to end on loopback, limits out of the way: the same 100k-row contacts file upserted by email
# into a fresh `etl sandbox` (a separate process) by
#   - the loader a Node user writes with @hubspot/api-client (Bottleneck: 8 in flight, no spacing),
#   - the loader a Python user writes with hubspot-api-client (8 threads),
#   - `etl run` (release build, concurrency 8),
# each timed from outside, each checked to have left exactly ROWS contacts in its sandbox, then the
# ratios printed. Installs come from npm and PyPI (into target/sdk/); the runs touch only 127.0.0.1.
#
# usage: bench/sdk/run.sh            ROWS=100000 ROUNDS=3 by default; ETL=path/to/etl skips the build
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/sdk"
WORK="$ROOT/target/sdk"
ROWS="${ROWS:-100000}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-18093}"
BASE="http://127.0.0.1:$PORT"
mkdir -p "$WORK/node"
export HUBSPOT_TOKEN="${HUBSPOT_TOKEN:-bench-token}"

if [[ -z "${ETL:-}" ]]; then
  (cd "$ROOT" && cargo build --release --bin etl)
  ETL="$ROOT/target/release/etl"
fi

# The Node loader: installed exactly as locked, reinstalled only when the lock file changes.
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/loader.js" "$WORK/node/"
if ! cmp -s "$HERE/package-lock.json" "$WORK/node/.installed-lock" 2>/dev/null; then
  (cd "$WORK/node" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$HERE/package-lock.json" "$WORK/node/.installed-lock"
fi
# The Python loader: a venv with the pinned requirements.
if ! cmp -s "$HERE/requirements.txt" "$WORK/venv/.installed-requirements" 2>/dev/null; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$WORK/venv/.installed-requirements"
fi

# The file: the rows of benches/run.rs (5 columns), the same for every loader.
CSV="$WORK/contacts.csv"
awk -v rows="$ROWS" 'BEGIN {
  print "Email,First Name,Last Name,Phone,City"
  for (i = 0; i < rows; i++) printf "person%d@example.com,First%d,Last%d,+1 555 01%05d,City %d\n", i, i, i, i, i % 97
}' > "$CSV"

cat > "$WORK/pipeline.toml" <<TOML
[source]
path = "contacts.csv"

[target]
object = "contacts"
operation = "upsert"
id_property = "email"
base_url = "$BASE"

[mapping]
email = { column = "Email", trim = true, lowercase = true }
firstname = "First Name"
lastname = "Last Name"
phone = "Phone"
city = "City"

[dispatch]
requests_per_interval = 100000000
interval_ms = 1000
concurrency = 8
TOML

SANDBOX_PID=""
stop_sandbox() {
  if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  SANDBOX_PID=""
}
trap stop_sandbox EXIT

start_sandbox() {
  "$ETL" sandbox --addr "127.0.0.1:$PORT" --requests-per-interval 100000000 --interval-ms 1000 \
    --daily-limit 100000000 > "$WORK/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  for _ in $(seq 100); do
    curl -sf "$BASE/_sandbox/stats" > /dev/null && return 0
    sleep 0.1
  done
  echo "the sandbox did not start: $(cat "$WORK/sandbox.log")" >&2
  exit 1
}

# Runs one loader on a fresh sandbox; prints its wall seconds and CPU seconds (user + sys, the
# loader's process tree); fails unless the sandbox holds ROWS contacts after it.
time_loader() {
  local name="$1"; shift
  start_sandbox
  local started ended
  started=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/$name.cpu" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
    echo "$name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
  ended=$(date +%s.%N)
  local held sandbox_cpu
  held=$(curl -sf "$BASE/_sandbox/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"]["contacts"])')
  # The sandbox's own CPU seconds (user + sys) while it served this loader: it shares the cores.
  sandbox_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$SANDBOX_PID/stat")
  stop_sandbox
  if [[ "$held" != "$ROWS" ]]; then
    echo "$name left $held contacts in the sandbox, not $ROWS" >&2; exit 1
  fi
  awk -v a="$started" -v b="$ended" -v s="$sandbox_cpu" '{ printf "%.3f %.2f %s\n", b - a, $1 + $2, s }' "$WORK/$name.cpu"
}

echo "rows=$ROWS rounds=$ROUNDS nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
printf '%-6s %-7s %9s %8s %10s %11s %9s %9s\n' round loader wall_s cpu_s sandbox_s rows_per_s vs_node vs_python
for round in $(seq "$ROUNDS"); do
  rm -f "$WORK"/pipeline.journal* "$WORK"/contacts.failed.csv
  read -r etl_wall etl_cpu etl_sb < <(time_loader etl "$ETL" run "$WORK/pipeline.toml" --quiet)
  read -r node_wall node_cpu node_sb < <(time_loader node node "$WORK/node/loader.js" "$CSV" "$BASE")
  read -r py_wall py_cpu py_sb < <(time_loader python "$WORK/venv/bin/python" "$HERE/loader.py" "$CSV" "$BASE")
  for row in "etl $etl_wall $etl_cpu $etl_sb" "node $node_wall $node_cpu $node_sb" "python $py_wall $py_cpu $py_sb"; do
    set -- $row
    printf '%-6s %-7s %9s %8s %10s %11.0f %9.2f %9.2f\n' "$round" "$1" "$2" "$3" "$4" "$(echo "$ROWS / $2" | bc -l)" \
      "$(echo "$node_wall / $2" | bc -l)" "$(echo "$py_wall / $2" | bc -l)"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
