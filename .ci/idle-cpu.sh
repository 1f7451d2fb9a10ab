#!/bin/sh
# Idle CPU of the workbench: opens `ai-tools` (no subcommand) on a fresh task in a detached
# tmux session, lets it settle, then reads the process's CPU time (utime + stime from
# /proc/<pid>/stat) and its context switches (voluntary + involuntary, summed over all its
# threads: each is a wake-up) over IDLE seconds of no input and no run.
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
switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print s + 0}'
}

for bin in "$@"; do
    repo=$(mktemp -d)
    git -C "$repo" init -q
    "$bin" --repo "$repo" task new idle >/dev/null
    name="ai-tools-idle-$$"
    tmux new-session -d -s "$name" -x 160 -y 48 \
        "env -u ANTHROPIC_API_KEY OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_API_KEY=sk-idle AI_TOOLS_CONFIG=$repo/none.toml TERM=xterm-256color $bin --repo $repo --provider openai"
    sleep 3
    pid=$(tmux display -p -t "$name" '#{pane_pid}')
    t0=$(cpu_ticks "$pid"); s0=$(switches "$pid")
    sleep "$idle"
    t1=$(cpu_ticks "$pid"); s1=$(switches "$pid")
    tmux kill-session -t "$name"
    rm -rf "$repo"
    awk -v b="$bin" -v t=$((t1 - t0)) -v hz="$hz" -v s=$((s1 - s0)) -v idle="$idle" \
        'BEGIN { printf "%s: %.0f ms CPU, %d context switches (wake-ups) in %d idle seconds\n", b, t * 1000 / hz, s, idle }'
done
