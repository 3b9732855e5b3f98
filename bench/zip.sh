#!/usr/bin/env bash
# Zip downloads through wshost (access.fs) against the local ceiling measured in the same run:
# Info-ZIP's `zip -0 -r -` (Debian `zip`) of the same tree into /dev/null, which reads the same
# files and writes the same stored archive with no network and no server in between.
# Two trees: a folder of 10,000 small files (4 KiB) and a folder holding one 1 GiB file. The
# host's peak resident memory (VmHWM) during its downloads is printed beside the figures.
#
#   bench/zip.sh [RUNS]        (release build of wshost and access-fs first)
#
# Prints one line per measurement: what, tool, figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=${SIZE:-$((1 << 30))}
REL=target/release
BENCH_TMP=${BENCH_TMP:-/var/tmp}
for tool in zip curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/zip.sh: $tool is missing (apt-get install zip curl python3)" >&2; exit 1; }
done
[[ -x $REL/wshost && -f $REL/libaccess_fs.so ]] || { echo "build first: cargo build --release -p wshost -p access-fs" >&2; exit 1; }

WORK=$(mktemp -d "$BENCH_TMP/wshost-zip-bench.XXXX")
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f} MB/s')"; }

echo "bench: making 10,000 files of 4 KiB and one of $SIZE bytes" >&2
R="$WORK/root"
mkdir -p "$R/many" "$R/big"
python3 - "$R/many" <<'EOF'
import os, sys
for i in range(10000):
    with open(os.path.join(sys.argv[1], f"f{i:05}.bin"), "wb") as f:
        f.write(os.urandom(4096))
EOF
head -c "$SIZE" /dev/urandom >"$R/big/big.bin"
SMALL=$((10000 * 4096))

P_WS=$(free_port)
mkdir -p "$WORK/wshost/manifests"
cp manifests/access.fs.toml "$WORK/wshost/manifests/"
cat >"$WORK/wshost/host.toml" <<EOF
listen = "127.0.0.1:$P_WS"
data_dir = "$WORK/wshost/data"
manifest_dirs = ["$WORK/wshost/manifests"]
plugin_dirs = ["$PWD/$REL"]
[[workspaces]]
id = "bench"
driver = "access.fs"
params = { ROOT = "$R" }
EOF
export WSHOST_LOG=warn WSHOST_ADMIN_PASSWORD=bench-admin-password
start_host() {
  "$REL/wshost" serve --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log" &
  WSPID=$!
  PIDS+=($WSPID)
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$P_WS/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
# The first start makes the store and hashes the first admin's password, whose argon2 working
# memory (19 MiB) the host keeps for later logins; token requests never need it. Measured on
# the second start, as a host runs once it exists.
start_host
TOKEN=$("$REL/wshost" token create admin --label bench --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log")
kill "$WSPID"; wait "$WSPID" 2>/dev/null || true
start_host
AUTH=(-H "Authorization: Bearer $TOKEN")
WS="http://127.0.0.1:$P_WS/?ws=bench&get_action"
hwm() { awk '/VmHWM/ {print int($2 / 1024) " MiB"}' "/proc/$WSPID/status"; }
rss() { awk '/VmRSS/ {print int($2 / 1024) " MiB"}' "/proc/$WSPID/status"; }
reset_hwm() { echo 5 >"/proc/$WSPID/clear_refs" 2>/dev/null || true; }

echo "wshost idle: VmRSS $(rss), VmHWM $(hwm)" >&2
# The archives agree: the same names, and Python's zipfile checks wshost's CRCs.
curl -fsS "${AUTH[@]}" -o "$WORK/check.zip" "$WS=download&file=many"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; assert len(z.namelist()) == 10001, len(z.namelist())' "$WORK/check.zip"
rm -f "$WORK/check.zip"
echo "wshost after the check: VmRSS $(rss), VmHWM $(hwm)" >&2

for run in $(seq "$RUNS"); do
  # The same 1 GiB as a plain download: the memory the host needs for any transfer.
  reset_hwm
  t=$(now); curl -fsS -o /dev/null "${AUTH[@]}" "$WS=download&file=big/big.bin"; s=$(since "$t")
  echo "plain 1 GiB	wshost	$s s	$(mbps "$SIZE" "$s")	peak $(hwm) (VmRSS $(rss) after)"
  for tree in many big; do
    bytes=$([[ $tree == many ]] && echo "$SMALL" || echo "$SIZE")
    what=$([[ $tree == many ]] && echo "zip 10000 x 4 KiB" || echo "zip 1 GiB")
    reset_hwm
    t=$(now); curl -fsS -o /dev/null "${AUTH[@]}" "$WS=download&file=$tree"; s=$(since "$t")
    echo "$what	wshost	$s s	$(mbps "$bytes" "$s")	peak $(hwm) (VmRSS $(rss) after)"
    t=$(now); (cd "$R" && zip -q -0 -r - "$tree" >/dev/null); s=$(since "$t")
    echo "$what	zip -0 -r -	$s s	$(mbps "$bytes" "$s")"
  done
done
