#!/bin/sh
# Idle CPU of the workbench: opens `ai-tools` (no subcommand) on a fresh task in a detached
# tmux session, lets it settle, then reads the process's CPU time (utime + stime from
# /proc/<pid>/stat) and its wake-ups (voluntary + involuntary context switches, per thread,
# over the threads alive at both samples) across IDLE seconds of no input and no run.
#
# Usage: .ci/idle-cpu.sh [IDLE_SECONDS] BINARY...
#   e.g. .ci/idle-cpu.sh 10 /tmp/ai-tools-main target/release/ai-tools
# Prints one line per binary; give the baseline first to compare in the same run.
set -eu
idle=10
case "${1:-}" in [0-9]*) idle=$1; shift ;; esac
[ $# -ge 1 ] || { echo "usage: $0 [IDLE_SECONDS] BINARY..." >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux is needed" >&2; exit 2; }
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One "tid switches" line per thread.
switches() {
    for t in /proc/"$1"/task/*; do
        awk -v t="${t##*/}" '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print t, s + 0}' \
            "$t/status" 2>/dev/null || true
    done
}
# Wake-ups between two samples, over the threads alive in both (a thread that ends in between,
# e.g. an idle tokio blocking-pool thread timing out, is left out).
woke() { awk 'NR == FNR {a[$1] = $2; next} ($1 in a) {s += $2 - a[$1]} END {print s + 0}' "$1" "$2"; }

for bin in "$@"; do
    repo=$(mktemp -d)
    git -C "$repo" init -q
    "$bin" --repo "$repo" task new idle >/dev/null
    name="ai-tools-idle-$$"
    tmux new-session -d -s "$name" -x 160 -y 48 \
        "env -u ANTHROPIC_API_KEY OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_API_KEY=sk-idle AI_TOOLS_CONFIG=$repo/none.toml TERM=xterm-256color $bin --repo $repo --provider openai"
    sleep 3
    pid=$(tmux display -p -t "$name" '#{pane_pid}')
    t0=$(cpu_ticks "$pid")
    switches "$pid" >"$repo.s0"
    sleep "$idle"
    t1=$(cpu_ticks "$pid")
    switches "$pid" >"$repo.s1"
    s=$(woke "$repo.s0" "$repo.s1")
    tmux kill-session -t "$name"
    rm -rf "$repo" "$repo.s0" "$repo.s1"
    awk -v b="$bin" -v t=$((t1 - t0)) -v hz="$hz" -v s="$s" -v idle="$idle" \
        'BEGIN { printf "%s: %.0f ms CPU, %d wake-ups (context switches) in %d idle seconds\n", b, t * 1000 / hz, s, idle }'
done
