#!/usr/bin/env bash
# How quickly a big HTML report opens: N scenarios (default 10,000) of the smoke
# flow against the Layers mock (`runner mock --tier unlimited`; whoami, create a project, start an
# ingest; cancel it and archive the project in `finally`: 5 requests each), one
# in 40 failing an assertion, written with --report-html; then headless Chromium
# opens the page, runs its script and dumps the DOM, several times.
#
#   bench/html_report.sh                  # 10,000 scenarios, 5 loads
#   HTML_BENCH_N=1000 bench/html_report.sh
#   RUNNER_BIN=target/release/runner bench/html_report.sh
#
# Reported: the report's size, how long the run took, Chromium's wall time to
# load and dump the page (against the same for an empty page), and the page's own
# clock when its script had finished (`data-ready-ms`: parse, the one JSON.parse
# of the data block, the list and the failed scenarios drawn). Results go to
# stdout and target/bench/html_report.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
n="${HTML_BENCH_N:-10000}"
loads="${HTML_BENCH_LOADS:-5}"
out="$root/target/bench/html"
runner="${RUNNER_BIN:-$root/target/debug/runner}"
browser="${RUNNER_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$browser" ]; then
    echo "bench/html_report.sh needs Chromium: apt-get install -y chromium" >&2
    exit 2
fi
if [ ! -x "$runner" ]; then
    (cd "$root" && cargo build --quiet)
fi

rm -rf "$out" && mkdir -p "$out/suite"
per_file=100
files=$(( (n + per_file - 1) / per_file ))
for f in $(seq 1 "$files"); do
    {
        echo "headers:"
        echo "  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA"
        echo "allow_cost: [scrape]"
        echo "scenarios:"
        for s in $(seq 1 "$per_file"); do
            i=$(( (f - 1) * per_file + s ))
            [ "$i" -gt "$n" ] && break
            kill_switch=false
            [ $(( i % 40 )) -eq 0 ] && kill_switch=true
            cat <<EOF
  - name: smoke flow $i
    tags: [smoke, batch-$f]
    steps:
      - name: whoami
        request: { url: /v1/whoami }
        expect:
          status: 200
          json:
            \$.killSwitch: $kill_switch
      - name: create throwaway project
        request:
          method: POST
          url: /v1/projects
          headers: { Idempotency-Key: "{{ uuid() }}" }
          json: { name: "bench-$i", customerExternalId: "bench-$i", timezone: UTC, primaryLanguage: en }
        expect: { status: [200, 201] }
        capture: { project_id: \$.id }
      - name: start App Store ingest
        request:
          method: POST
          url: "/v1/projects/{{ project_id }}/ingest/appstore"
          headers: { Idempotency-Key: "{{ uuid() }}" }
          json: { iosBundleId: com.example.doesnotexist }
        expect: { status: 202 }
        capture: { job_id: \$.jobId }
    finally:
      - name: cancel the ingest
        request:
          method: POST
          url: "/v1/jobs/{{ job_id }}/cancel"
          headers: { Idempotency-Key: "{{ uuid() }}" }
        expect: { status: [200, 202, 409] }
      - name: archive the throwaway project
        request: { method: DELETE, url: "/v1/projects/{{ project_id }}" }
        expect: { status: [200, 404] }
EOF
        done
    } >"$out/suite/batch-$(printf %03d "$f").yaml"
done

# The mock on its own, without rate limits: the embedded one has the partner tier's,
# and 10,000 ingests would be throttled into failing.
mock_port="${HTML_BENCH_MOCK_PORT:-18091}"
"$runner" mock --port "$mock_port" --tier unlimited >"$out/mock.log" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$mock_port") 2>/dev/null && break
    sleep 0.1
done
start=$(date +%s.%N)
set +e
"$runner" "$out/suite" --quiet --base-url "http://127.0.0.1:$mock_port" \
    --report-html "$out/report" >"$out/run.log" 2>&1
code=$?
set -e
end=$(date +%s.%N)
kill "$mock_pid" 2>/dev/null || true
if [ "$code" -ne 1 ]; then
    echo "the run ended with $code (expected 1: some scenarios fail on purpose); see $out/run.log" >&2
    exit 1
fi
run_s=$(echo "$end - $start" | bc)
page="$out/report/index.html"
size_mb=$(echo "scale=1; $(stat -c %s "$page") / 1048576" | bc)
echo '<!DOCTYPE html><html><body>empty</body></html>' >"$out/empty.html"

load() { # page -> "wall_ms ready_ms"
    local profile
    profile=$(mktemp -d)
    local t0 t1 dom
    t0=$(date +%s%N)
    dom=$("$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --disable-extensions --no-first-run \
        --user-data-dir="$profile" --dump-dom "file://$1" 2>/dev/null)
    t1=$(date +%s%N)
    rm -rf "$profile"
    local ready
    ready=$(printf '%s' "$dom" | grep -o 'data-ready-ms="[0-9]*"' | head -1 | tr -dc 0-9 || true)
    echo "$(( (t1 - t0) / 1000000 )) ${ready:--}"
}

walls=() readies=() empties=() lasts=()
for _ in $(seq 1 "$loads"); do
    read -r w r < <(load "$page")
    walls+=("$w") readies+=("$r")
    read -r e _ < <(load "$out/empty.html")
    empties+=("$e")
    # The last scenario opened by its address: its line found and parsed, its steps drawn.
    read -r _ l < <(load "$page#s-$((n - 1))")
    lasts+=("$l")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

{
    echo "| scenarios | report size | run (write included) | Chromium load + dump, median of $loads | same for an empty page | page ready (its own clock), median | ready with the last scenario opened, median |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "| $n | $size_mb MB | ${run_s%.*} s | $(median "${walls[@]}") ms | $(median "${empties[@]}") ms | $(median "${readies[@]}") ms | $(median "${lasts[@]}") ms |"
    echo
    echo "loads (ms): ${walls[*]}; page ready (ms): ${readies[*]}; empty page (ms): ${empties[*]}; last opened (ms): ${lasts[*]}"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/../html_report.md"
