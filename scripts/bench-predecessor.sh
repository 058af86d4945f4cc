#!/usr/bin/env bash
# Side by side, in one run: the predecessor's processing and plotting of the mi30x online model
# folders against sglci's backfill and whole site of the same folders. Writes its method and
# figures to the `predecessor` section of BENCHMARKS.md.
#
#   bash scripts/bench-predecessor.sh PREDECESSOR_CHECKOUT [ROUNDS]
#
# PREDECESSOR_CHECKOUT is a clone of the predecessor's repository (its scripts are not part of
# this repository); the measured script is scripts/process_and_generate_online_plots.py there.
# SGLCI_CORPUS is the fixture tree (default ../shared/fixtures/sglang-ci-log). The predecessor
# needs pandas and matplotlib: they are installed with pip into a virtual environment under
# ~/.cache when the python3 here lacks them. Nothing is measured in CI: this is run by hand.
set -euo pipefail

pred=${1:?usage: bench-predecessor.sh PREDECESSOR_CHECKOUT [ROUNDS]}
rounds=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${SGLCI_CORPUS:-$here/../shared/fixtures/sglang-ci-log}
script="$pred/scripts/process_and_generate_online_plots.py"
[ -f "$script" ] || { echo "error: $script not found (give a checkout of the predecessor)" >&2; exit 2; }
[ -d "$corpus/online_benchmark_log/mi30x" ] || { echo "error: no corpus at $corpus" >&2; exit 2; }

# The three model folders the predecessor's nightly job plots on mi30x, with its model flag.
models=(GROK1:grok GROK2:grok2 DeepSeek-V3-0324:DeepSeek-V3)

py=python3
if ! $py -c 'import pandas, matplotlib' 2>/dev/null; then
    venv="$HOME/.cache/sglci-predecessor-venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q pandas matplotlib
    py="$venv/bin/python"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
cargo build -q --release -p sglci-publisher --bin sglci-publisher --manifest-path "$here/Cargo.toml"
sglci="$CARGO_TARGET_DIR/release/sglci-publisher"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sglci's input: the legacy layout holding only those folders.
for m in "${models[@]}"; do
    mkdir -p "$work/legacy/online_benchmark_log/mi30x"
    cp -r "$corpus/online_benchmark_log/mi30x/${m%%:*}" "$work/legacy/online_benchmark_log/mi30x/"
done
# The newest night of the folders: the predecessor looks back from "today", so its clock is
# set to that night and it looks back over the folders' whole span.
nights=$(ls "$work/legacy/online_benchmark_log/mi30x"/* | grep -o -- '-20[0-9]\{6\}_' | tr -d '_-' | sort -u)
newest=$(echo "$nights" | tail -1)
oldest=$(echo "$nights" | head -1)
days=$(( ($(date -ud "$newest" +%s) - $(date -ud "$oldest" +%s)) / 86400 + 1 ))

# The predecessor's script, run as its nightly job runs it, with the clock fixed (a subclass of
# datetime whose now() and today() give the newest night; the modules are imported first).
cat > "$work/fixed_clock.py" <<'EOF'
import datetime as _dt, runpy, sys
import pandas, matplotlib  # noqa: F401
night = _dt.datetime.strptime(sys.argv[1], "%Y%m%d")
class _Fixed(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(night.year, night.month, night.day, 12)
    @classmethod
    def today(cls):
        return cls.now()
_dt.datetime = _Fixed
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
EOF

now() { date +%s.%N; }
predecessor() { # round
    local r=$1 dir flag
    for m in "${models[@]}"; do
        dir=${m%%:*} flag=${m##*:}
        # It writes its summary CSV into the data folder: each round gets a fresh copy.
        mkdir -p "$work/pred-$r"
        cp -r "$corpus/online_benchmark_log/mi30x/$dir" "$work/pred-$r/"
    done
    # Nothing left to write back from the set-up (the copies above): sglci's `site` syncs the
    # file system before its marker, and would otherwise pay for the other side's copies.
    sync
    local t0; t0=$(now)
    for m in "${models[@]}"; do
        dir=${m%%:*} flag=${m##*:}
        "$py" "$work/fixed_clock.py" "$newest" "$script" -m "$flag" --data-dir "$work/pred-$r/$dir" \
            --plot-dir "$work/pred-$r/plots" --model-name "$dir" --plot-date "$newest" --days "$days" \
            > "$work/pred-$r/$dir.log" 2>&1 || { echo "error: the predecessor failed on $dir:" >&2; tail -5 "$work/pred-$r/$dir.log" >&2; exit 1; }
    done
    echo "$(now) - $t0" | bc
}
ours() { # round
    local r=$1 t0
    sync
    t0=$(now)
    "$sglci" --store "$work/store-$r" ingest --legacy "$work/legacy" > "$work/ingest-$r.log" 2>&1
    "$sglci" --store "$work/store-$r" site --out "$work/site-$r" > "$work/site-$r.log" 2>&1
    echo "$(now) - $t0" | bc
}

# One warm-up of each (page cache, Python's byte code), then interleaved rounds.
predecessor warm > /dev/null
ours warm > /dev/null
pt=() ot=()
for r in $(seq "$rounds"); do
    if (( r % 2 )); then pt+=("$(predecessor "$r")"); ot+=("$(ours "$r")")
    else ot+=("$(ours "$r")"); pt+=("$(predecessor "$r")"); fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
list() { printf '%.3f, ' "$@" | sed 's/, $//'; }
pm=$(median "${pt[@]}") om=$(median "${ot[@]}")
ratio=$(echo "scale=1; $pm / $om" | bc)
pngs=$(find "$work/pred-1/plots" -name '*.png' | wc -l)
files=$(find "$work/site-1" -type f | wc -l)
pages=$(find "$work/site-1" -name '*.html' | wc -l)
runs=$(ls -d "$work"/legacy/online_benchmark_log/mi30x/*/* | wc -l)
pyv=$("$py" -c 'import sys, pandas, matplotlib; print(f"Python {sys.version.split()[0]}, pandas {pandas.__version__}, matplotlib {matplotlib.__version__}")')
rev=$(git -C "$pred" rev-parse --short HEAD 2>/dev/null || echo unknown)

section=$(cat <<EOF
## Against the predecessor: backfill and site of the mi30x model folders

Method: \`bash scripts/bench-predecessor.sh PREDECESSOR_CHECKOUT $rounds\` ($(date -u +%F)). The input
is the three mi30x online model folders of the fixture slice (${models[*]%%:*}: $runs run folders,
$oldest to $newest). *Predecessor*: its \`scripts/process_and_generate_online_plots.py\` (commit
$rev, $pyv), run once per folder as its nightly job runs it (\`-m <model>
--model-name <folder> --plot-date <night>\`), with \`--days $days\` and its clock set to the newest
night so that it reads every night of the folders; it parses the logs, writes its summary CSV and
draws its trend figure ($pngs PNG in all). *sglci*: \`sglci-publisher ingest --legacy\` of the same
folders into an empty store, then \`site\` into an empty directory: every table, $pages pages and
$files files in all (trend charts, run pages, downloads, PNG figures). Wall time of the commands,
one warm-up each, then $rounds interleaved rounds; medians; the file system is synced before
each side's timing starts (sglci's \`site\` syncs it, and would otherwise write back the other
side's set-up copies). Machine: $(nproc) cores.

| | median (s) | rounds (s) |
|---|---:|---|
| predecessor: process and plot, 3 folders | $(printf '%.3f' "$pm") | $(list "${pt[@]}") |
| sglci: backfill and whole site | $(printf '%.3f' "$om") | $(list "${ot[@]}") |

sglci is **${ratio}x** faster. Target (issue 18): at least 40x.
EOF
)
echo "$section"
python3 - "$here/BENCHMARKS.md" "$section" <<'EOF'
import sys, re
path, body = sys.argv[1], sys.argv[2]
doc = open(path).read()
start, end = "<!-- bench:predecessor -->", "<!-- /bench:predecessor -->"
block = f"{start}\n{body}\n{end}"
if start in doc and end in doc:
    doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(doc)
EOF
echo "wrote $here/BENCHMARKS.md"
