#!/usr/bin/env bash
# diffusers 0.35.2 (PyTorch, CPU) and this module on the same tiny weights, one after the other in one run:
# 20 PNDM steps at 64x64, "a photo of a cat", batch 1 and 4, median of 7 after a warm-up (bench_tiny.py's protocol).
# Needs the reference environment (../shared/refenv/README.md: setup.sh, then build_tiny.py once).
#   bench/side-by-side.sh [THREADS]   (default 2: both sides use THREADS threads)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads="${1:-2}"
env035="${REFENV_WORK:-$HOME/.cache/sd-refenv}/env-0.35.sh"
[[ -f "$env035" ]] || { echo "no $env035: set up ../shared/refenv first (its README)" >&2; exit 2; }
# shellcheck disable=SC1090
source "$env035"
dotnet build "$root/bench/StableDiffusion.Bench" -c Release -v q -nologo >/dev/null
bench="$root/bench/StableDiffusion.Bench/bin/Release/net8.0/StableDiffusion.Bench.dll"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg) at start; threads $threads" >&2
py_out="$("$PY" "$REFENV/bench_tiny.py" "$threads")"
ours() { dotnet "$bench" --steps 20 --size 64 --batch "$1" --runs 7 --warmup 1 --threads "$threads" | awk -F'|' '/whole generation/ {gsub(/ /,"",$3); print $3}'; }
ours1="$(ours 1)"; ours4="$(ours 4)"
d1="$(awk '/batch=1: median/ {print $4}' <<<"$py_out")"; d4="$(awk '/batch=4: median/ {print $4}' <<<"$py_out")"
echo "| 20 PNDM steps, 64x64, $threads threads | diffusers 0.35.2 ms | module ms | diffusers / module |"
echo "|---|---:|---:|---:|"
awk -v d="$d1" -v o="$ours1" 'BEGIN { printf "| batch 1 | %.1f | %.1f | %.2fx |\n", d, o, d / o }'
awk -v d="$d4" -v o="$ours4" 'BEGIN { printf "| batch 4 | %.1f | %.1f | %.2fx |\n", d, o, d / o }'
echo "# load average $(cut -d' ' -f1 /proc/loadavg) at the end" >&2
