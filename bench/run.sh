#!/usr/bin/env bash
# The runner's end-to-end benchmark: the 4-request smoke flow (GET whoami, POST
# project, POST ingest with the captured id, POST cancel with the captured job id
# in `finally`) as N separate files, against nginx serving fixed JSON on
# 127.0.0.1 with keep-alive, JUnit and JSON reports on. For N = 1, 500 and 5000
# it reports wall time (hyperfine), requests/s, CPU time, CPU/wall (how many
# cores the tool kept busy), the server's CPU/wall and the machine's idle cores
# over the same run (the tool and nginx share the cores), and peak memory
# (/usr/bin/time -v), and the same for loading
# alone (`runner list`: its share of the run); then the embedded mock's
# own throughput under wrk. When `hurl` is on the PATH the same suite runs
# through it too (as .hurl files), side by side.
#
#   bench/run.sh                 # everything (about 2-4 minutes on 2 cores)
#   BENCH_SIZES="1 500" bench/run.sh
#   BENCH_SIZES="5000 50000" bench/run.sh   # memory at scale (50000: one timed run, ~1 GB of files)
#   BENCH_QUICK=1 bench/run.sh   # fewer hyperfine runs
#   BENCH_RUNNER_BASELINE=/path/to/old/runner bench/run.sh   # an older build side by side
#   BENCH_RUNNER=/path/to/runner bench/run.sh   # a binary built already: no build
#
# It installs nothing: a missing tool is named with the command that installs it.
# Results: a Markdown table on stdout and in target/bench/results.md; raw
# hyperfine JSON and time -v output under target/bench/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/target/bench"
work="$out/work"
sizes="${BENCH_SIZES:-1 500 5000}"
runner_jobs="${BENCH_RUNNER_JOBS:-8}"
hurl_jobs="${BENCH_HURL_JOBS:-2}"
port="${BENCH_PORT:-18080}"
# Another runner binary (an older commit's build) measured on the same suites in
# the same run, to see whether a change made the runner slower.
baseline="${BENCH_RUNNER_BASELINE:-}"
baseline_label="${BENCH_RUNNER_BASELINE_LABEL:-runner baseline}"
if [ -n "$baseline" ] && [ ! -x "$baseline" ]; then
    echo "BENCH_RUNNER_BASELINE=$baseline is not an executable file" >&2
    exit 2
fi
mock_port="${BENCH_MOCK_PORT:-18081}"

# --- tools -----------------------------------------------------------------
missing=()
nginx_bin="$(command -v nginx || true)"
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
[ -z "$nginx_bin" ] && missing+=(nginx)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bench/run.sh needs: ${missing[*]}" >&2
    echo "install them with:  apt-get install -y ${missing[*]}" >&2
    exit 2
fi
hurl_bin="$(command -v hurl || true)"
if [ -z "$hurl_bin" ]; then
    echo "note: hurl is not on the PATH; only the runner is measured." >&2
    echo "      (\`cargo install hurl --version 8.0.1 --locked\` builds it; it needs libcurl4-openssl-dev libxml2-dev pkg-config clang)" >&2
fi

# The machine's load changes what a wall time means: it goes into the results.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- build -----------------------------------------------------------------
# BENCH_RUNNER: a runner binary built already (nothing is built then).
runner="${BENCH_RUNNER:-}"
if [ -z "$runner" ]; then
    echo "building the runner (release)..." >&2
    (cd "$root" && cargo build --release --quiet)
    runner="$root/target/release/runner"
fi

mkdir -p "$out" "$work"
rm -rf "${work:?}"/*

# --- nginx -----------------------------------------------------------------
ngx="$work/nginx"
mkdir -p "$ngx/logs" "$ngx/tmp"
cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        location = /v1/whoami {
            return 200 '{"keyId":"01JMOCKDEM0KEY00","orgId":"org_bench","plan":"pro","scopes":["projects:write","ingest:write"]}';
        }
        location = /v1/projects {
            return 201 '{"id":"prj_01JBENCH0000000000000000","name":"ci-smoke","timezone":"UTC","primaryLanguage":"en"}';
        }
        location ~ ^/v1/projects/[^/]+/ingest/appstore\$ {
            return 202 '{"jobId":"job_01JBENCH0000000000000000","status":"queued"}';
        }
        location ~ ^/v1/jobs/[^/]+/cancel\$ {
            return 200 '{"id":"job_01JBENCH0000000000000000","status":"cancelled"}';
        }
    }
}
EOF
"$nginx_bin" -p "$ngx" -c "$ngx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
mock_pid=""
cleanup() {
    kill "$nginx_pid" 2>/dev/null || true
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 50); do
    curl -fsS "$base/v1/whoami" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/v1/whoami" >/dev/null || { echo "nginx did not start; see $ngx/logs/error.log" >&2; exit 3; }

# --- suites ----------------------------------------------------------------
# The mock's demo key, as bench/smoke.yaml sends it.
key="$(sed -n 's/^ *X-Api-Key: "\(.*\)"$/\1/p' "$here/smoke.yaml")"
# Hurl has no `finally`; the cancel is its 4th entry, which runs when the 3 before pass.
gen_hurl() { # $1 index
    cat <<EOF
GET {{base}}/v1/whoami
X-Api-Key: $key
HTTP 200

POST {{base}}/v1/projects
X-Api-Key: $key
Idempotency-Key: {{newUuid}}
{"name":"ci-smoke","customerExternalId":"ci-$1","timezone":"UTC","primaryLanguage":"en"}
HTTP *
[Captures]
project_id: jsonpath "\$.id"
[Asserts]
status >= 200
status <= 201

POST {{base}}/v1/projects/{{project_id}}/ingest/appstore
X-Api-Key: $key
Idempotency-Key: {{newUuid}}
{"iosBundleId":"com.example.doesnotexist"}
HTTP 202
[Captures]
job_id: jsonpath "\$.jobId"

POST {{base}}/v1/jobs/{{job_id}}/cancel
X-Api-Key: $key
Idempotency-Key: {{newUuid}}
HTTP *
[Asserts]
status >= 200
status <= 409
EOF
}
# One template per tool, copied N times by one process (a shell loop forking per
# file takes minutes at N=50000).
# The flow itself is bench/smoke.yaml (tests/lazy_load.rs runs the same file);
# `@I@` stands for the file's number.
cp "$here/smoke.yaml" "$work/template.yaml"
[ -n "$hurl_bin" ] && gen_hurl @I@ >"$work/template.hurl"
# Suite 1 is always made: the sanity check below runs it.
for n in $(printf '%s\n' 1 $sizes | sort -nu); do
    d="$work/suite-$n"
    mkdir -p "$d/yaml" "$d/hurl"
    python3 - "$work" "$d" "$n" "${hurl_bin:+hurl}" <<'PY'
import sys
work, d, n, hurl = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
width = len(str(n))
kinds = [("yaml", open(f"{work}/template.yaml").read())]
if hurl:
    kinds.append(("hurl", open(f"{work}/template.hurl").read()))
for i in range(1, n + 1):
    idx = str(i).zfill(width)
    for ext, text in kinds:
        with open(f"{d}/{ext}/s{idx}.{ext}", "w") as f:
            f.write(text.replace("@I@", idx))
PY
done

# Sanity: one run of each must pass before it is timed.
"$runner" run "$work/suite-1/yaml" --base-url "$base" --junit "$work/check.xml" -q >/dev/null
if [ -n "$hurl_bin" ]; then
    "$hurl_bin" --test --variable "base=$base" "$work/suite-1/hurl" >/dev/null 2>&1 ||
        { echo "hurl failed on the suite:" >&2; "$hurl_bin" --test --variable "base=$base" "$work"/suite-1/hurl/*.hurl; exit 3; }
fi

# --- measure -----------------------------------------------------------------
runs_for() { # $1 N -> hyperfine runs
    if [ "$1" -gt 5000 ]; then echo 1; return; fi
    if [ -n "${BENCH_QUICK:-}" ]; then echo 3; return; fi
    case "$1" in 1) echo 30 ;; 500) echo 10 ;; 5000) echo 5 ;; *) echo 1 ;; esac
}
# The machine's idle and total CPU ticks so far (all cores; iowait counts as idle).
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t}' /proc/stat; }
# CPU ticks the server (nginx's worker) has used so far.
server_ticks() { for p in $(pgrep -P "$nginx_pid"); do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s + 0}'; }
# Prints "mean_s stddev_s peak_kb cpu_s server_cpu_s idle_cores" (cpu: user +
# system of the time -v run; over the same run, the server's CPU time, and how
# many of the machine's cores sat idle on average: the tool, the server and
# anything else on the machine share the cores).
measure() { # $1 label, rest: the command (one string)
    local label="$1" cmd="$2" runs="$3" warmup=1
    # One run of the largest suites is long enough to need no warm-up.
    [ "$runs" -eq 1 ] && warmup=0
    hyperfine -N --style none --warmup "$warmup" --runs "$runs" --export-json "$out/$label.json" "$cmd" >/dev/null 2>&1 ||
        hyperfine --style none --warmup "$warmup" --runs "$runs" --export-json "$out/$label.json" "$cmd" >/dev/null
    local peak idle0 total0 idle1 total1 server0 server1
    read -r idle0 total0 < <(cpu_ticks)
    server0="$(server_ticks)"
    # shellcheck disable=SC2086 # the command is words on purpose
    /usr/bin/time -v -o "$out/$label.time" $cmd >/dev/null 2>&1 || true
    read -r idle1 total1 < <(cpu_ticks)
    server1="$(server_ticks)"
    peak="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$label.time")"
    cpu="$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$out/$label.time")"
    python3 - "$out/$label.json" "$peak" "$cpu" "$((server1 - server0))" "$(getconf CLK_TCK)" \
        "$((idle1 - idle0))" "$((total1 - total0))" "$(nproc)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
server = int(sys.argv[4]) / int(sys.argv[5])
idle, total, cores = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
idle_cores = idle / total * cores if total else 0
print(f'{r["mean"]:.6f} {r["stddev"] or 0:.6f} {sys.argv[2]} {sys.argv[3]} {server:.2f} {idle_cores:.2f}')
PY
}

rows=()
fmt_row() { # tool N mean sd peak cpu server_cpu idle_cores
    python3 - "$@" <<'PY'
import sys
tool, n, mean, sd, peak, cpu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
server, idle = float(sys.argv[7]), float(sys.argv[8])
wall = f"{mean*1000:.1f} ms" if mean < 1 else f"{mean:.2f} s"
rps = 4 * n / mean
# CPU/wall: how many cores the tool kept busy on average (the wall time is the
# hyperfine mean; the CPU time is from the `time -v` run).
# The server's CPU/wall and the machine's idle cores are over the `time -v` run.
print(f"| {tool} | {n} | {wall} ± {sd*1000:.1f} ms | {rps:,.0f} | {mean/n*1e3:.3f} ms | {cpu:.2f} s | {cpu/mean:.2f} | {server/mean:.2f} | {idle:.2f} | {peak/1024:.1f} MB |")
PY
}
loads=()
fmt_load() { # N mean sd peak cpu run_mean
    python3 - "$@" <<'PY'
import sys
n, mean, sd, peak, cpu, run = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
wall = f"{mean*1000:.1f} ms" if mean < 1 else f"{mean:.2f} s"
print(f"| {n} | {wall} ± {sd*1000:.1f} ms | {mean/run*100:.0f}% | {cpu:.2f} s | {cpu/mean:.2f} | {peak/1024:.1f} MB |")
PY
}
for n in $sizes; do
    d="$work/suite-$n"
    runs="$(runs_for "$n")"
    echo "N=$n: runner..." >&2
    read -r mean sd peak cpu server idle < <(measure "runner-$n" \
        "$runner run $d/yaml --base-url $base --jobs $runner_jobs --junit $work/runner-$n.xml --report-json $work/runner-$n.json -q" "$runs")
    rows+=("$(fmt_row "runner (--jobs $runner_jobs)" "$n" "$mean" "$sd" "$peak" "$cpu" "$server" "$idle")")
    # Loading alone: `runner list` finds, parses and checks every file as a run
    # does, then sends nothing. Its share of the run's wall time is what loading costs.
    echo "N=$n: runner list (loading alone)..." >&2
    read -r lmean lsd lpeak lcpu _ _ < <(measure "runner-list-$n" "$runner list $d/yaml" "$runs")
    loads+=("$(fmt_load "$n" "$lmean" "$lsd" "$lpeak" "$lcpu" "$mean")")
    if [ -n "$baseline" ]; then
        echo "N=$n: $baseline_label..." >&2
        read -r mean sd peak cpu server idle < <(measure "baseline-$n" \
            "$baseline run $d/yaml --base-url $base --jobs $runner_jobs --junit $work/baseline-$n.xml --report-json $work/baseline-$n.json -q" "$runs")
        rows+=("$(fmt_row "$baseline_label (--jobs $runner_jobs)" "$n" "$mean" "$sd" "$peak" "$cpu" "$server" "$idle")")
    fi
    if [ -n "$hurl_bin" ]; then
        echo "N=$n: hurl..." >&2
        read -r mean sd peak cpu server idle < <(measure "hurl-$n" \
            "$hurl_bin --test --jobs $hurl_jobs --variable base=$base --report-junit $work/hurl-$n.xml --report-json $work/hurl-$n-json $d/hurl" "$runs")
        rows+=("$(fmt_row "Hurl $("$hurl_bin" --version | head -1 | awk '{print $2}') (--test --jobs $hurl_jobs)" "$n" "$mean" "$sd" "$peak" "$cpu" "$server" "$idle")")
    fi
done

# Every run must have passed: a fast run of failures proves nothing.
for n in $sizes; do
    grep -q 'failures="0"' "$work/runner-$n.xml" && grep -q 'errors="0"' "$work/runner-$n.xml" ||
        { echo "the runner's N=$n run did not pass; see $work/runner-$n.xml" >&2; exit 3; }
    if [ -n "$baseline" ]; then
        grep -q 'failures="0"' "$work/baseline-$n.xml" && grep -q 'errors="0"' "$work/baseline-$n.xml" ||
            { echo "the baseline runner's N=$n run did not pass; see $work/baseline-$n.xml" >&2; exit 3; }
    fi
    if [ -n "$hurl_bin" ]; then
        grep -q 'failures="0"' "$work/hurl-$n.xml" && grep -q 'errors="0"' "$work/hurl-$n.xml" ||
            { echo "hurl's N=$n run did not pass; see $work/hurl-$n.xml" >&2; exit 3; }
    fi
done

# --- wrk -------------------------------------------------------------------
echo "wrk: nginx and the mock..." >&2
wrk_rps() { # url [header]
    wrk -t2 -c16 -d5s ${2:+-H "$2"} "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}
nginx_rps="$(wrk_rps "$base/v1/whoami")"
"$runner" mock --port "$mock_port" --tier unlimited >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 50); do
    curl -fsS -H "X-Api-Key: $key" "http://127.0.0.1:$mock_port/v1/whoami" >/dev/null 2>&1 && break
    sleep 0.1
done
mock_rps="$(wrk_rps "http://127.0.0.1:$mock_port/v1/whoami" "X-Api-Key: $key")"
kill "$mock_pid" 2>/dev/null || true

# --- report ----------------------------------------------------------------
{
    echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs ($(lscpu | awk -F': +' '/Model name/ {print $2; exit}')), $(free -g | awk '/Mem:/ {print $2}') GB, Linux $(uname -r); nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///'), 1 worker, keep-alive. Load average at the start: $load_before; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| tool | N | wall (mean ± sd) | requests/s | wall per scenario | CPU (user+sys) | CPU/wall | nginx CPU/wall | idle cores | peak memory |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "| loading alone (\`runner list\`) N | wall (mean ± sd) | share of the run's wall | CPU (user+sys) | CPU/wall | peak memory |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${loads[@]}"
    echo
    echo "| wrk -t2 -c16 -d5s, GET /v1/whoami | requests/s |"
    echo "| --- | ---: |"
    echo "| nginx (fixed JSON) | $nginx_rps |"
    echo "| runner's embedded mock (\`runner mock --tier unlimited\`) | $mock_rps |"
} | tee "$out/results.md"
