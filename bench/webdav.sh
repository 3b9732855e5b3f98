#!/usr/bin/env bash
# wshost's WebDAV door side by side with Apache httpd's mod_dav (the reference implementation)
# and `rclone serve webdav`, all on 127.0.0.1, on the same data folder, in one run: GET and PUT
# of SIZE (default 1 GiB), PROPFIND depth 1 of a 10,000-entry folder, 4 KiB GETs and PROPFIND
# depth 0 under wrk -c64, and each server's peak RSS during the big transfers. Every server
# checks HTTP Basic credentials (wshost an app password, Apache a SHA1 htpasswd, rclone its
# --user/--pass), as a WebDAV client always sends them.
#
#   bench/webdav.sh [RUNS]      (root: installs apache2, rclone, wrk; release build first)
#
# Prints one line per measurement (what, server, figure), then the medians and the ratios of
# wshost to each peer; bench/run.sh calls it unless SKIP_WEBDAV=1.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=${SIZE:-$((1 << 30))}
WRK_DURATION=${WRK_DURATION:-5s}
REL=${REL:-target/release}
[[ -x $REL/wshost && -f $REL/libaccess_fs.so ]] || { echo "build first: cargo build --release -p wshost -p access-fs" >&2; exit 1; }
missing=()
for tool in apache2 rclone wrk curl python3 htpasswd; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "bench/webdav.sh: installing apache2 apache2-utils rclone wrk from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2 apache2-utils rclone wrk >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2 apache2-utils rclone wrk >/dev/null; }
fi

WORK=$(mktemp -d /var/tmp/wshost-dav-bench.XXXX)
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f}')"; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return; sleep 0.1; done; echo "bench: $1 does not answer" >&2; exit 1; }

USER_NAME=bench
PASS=bench-password
DATA="$WORK/data"
mkdir -p "$DATA/many"
echo "bench: making the ${SIZE}-byte file, a 4 KiB file and 10,000 names" >&2
head -c "$SIZE" /dev/urandom >"$WORK/big.bin"
cp "$WORK/big.bin" "$DATA/big.bin"
head -c 4096 /dev/urandom >"$DATA/small.bin"
(cd "$DATA/many" && seq -f 'entry-%05g.txt' 10000 | xargs touch)
# Apache runs as www-data; the others as root: everyone may read and write the data.
chmod -R a+rwX "$WORK"

# ---- wshost ----------------------------------------------------------------------------------
P_WS=$(free_port)
mkdir -p "$WORK/wshost"
cat >"$WORK/wshost/host.toml" <<EOF
listen = "127.0.0.1:$P_WS"
data_dir = "$WORK/wshost/data"
manifest_dirs = ["$PWD/manifests"]
plugin_dirs = ["$PWD/$REL"]
[[workspaces]]
id = "bench"
driver = "access.fs"
params = { ROOT = "$DATA" }
EOF
export WSHOST_LOG=warn WSHOST_ADMIN_PASSWORD=bench-admin-password
# The token first, by the CLI: it makes the store and the first administrator, whose password
# hash (argon2id, 19 MiB of work memory) would otherwise stay in the server's heap and count
# in its peak RSS, which is not what a serving host holds.
TOKEN=$("$REL/wshost" token create admin --label bench --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log")
"$REL/wshost" serve --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log" &
PIDS+=($!)
WS_PID=$!
wait_http "http://127.0.0.1:$P_WS/healthz"

# ---- Apache httpd, mod_dav -------------------------------------------------------------------
P_AP=$(free_port)
M=/usr/lib/apache2/modules
mkdir -p "$WORK/apache/lock" "$WORK/apache/logs"
htpasswd -c -b -s "$WORK/apache/htpasswd" "$USER_NAME" "$PASS" 2>/dev/null
chown -R www-data: "$WORK/apache"
cat >"$WORK/apache/httpd.conf" <<EOF
ServerRoot "$WORK/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:$P_AP
PidFile "$WORK/apache/httpd.pid"
User www-data
Group www-data
ErrorLog "$WORK/apache/logs/error.log"
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule alias_module $M/mod_alias.so
LoadModule mime_module $M/mod_mime.so
LoadModule dav_module $M/mod_dav.so
LoadModule dav_fs_module $M/mod_dav_fs.so
LoadModule dav_lock_module $M/mod_dav_lock.so
TypesConfig /etc/mime.types
DavLockDB "$WORK/apache/lock/DavLock"
Alias /dav "$DATA"
<Directory "$DATA">
  Dav On
  AuthType Basic
  AuthName bench
  AuthUserFile "$WORK/apache/htpasswd"
  Require valid-user
  Options None
  AllowOverride None
</Directory>
LimitRequestBody 0
EOF
apache2 -f "$WORK/apache/httpd.conf" -DFOREGROUND 2>"$WORK/apache/logs/stderr" &
PIDS+=($!)
AP_PID=$!
wait_http "http://127.0.0.1:$P_AP/dav/"

# ---- rclone serve webdav ---------------------------------------------------------------------
P_RC=$(free_port)
rclone serve webdav "$DATA" --addr "127.0.0.1:$P_RC" --user "$USER_NAME" --pass "$PASS" --baseurl /dav 2>"$WORK/rclone.log" &
PIDS+=($!)
RC_PID=$!
wait_http "http://127.0.0.1:$P_RC/dav/"

# Each server: base URL of the data folder, and its credentials.
declare -A URL=(
  [wshost]="http://127.0.0.1:$P_WS/dav/bench"
  [apache]="http://127.0.0.1:$P_AP/dav"
  [rclone]="http://127.0.0.1:$P_RC/dav"
)
declare -A CRED=([wshost]="admin:$TOKEN" [apache]="$USER_NAME:$PASS" [rclone]="$USER_NAME:$PASS")
declare -A PID=([wshost]=$WS_PID [apache]=$AP_PID [rclone]=$RC_PID)
SERVERS=(wshost apache rclone)

# The server's processes (Apache's children too) and the sum of their peak RSS, in MiB.
pids_of() { echo "$1" $(pgrep -P "$1" || true); }
reset_peak() { local p; for p in $(pids_of "${PID[$1]}"); do echo 5 >"/proc/$p/clear_refs"; done; }
peak_mib() {
  local p total=0
  for p in $(pids_of "${PID[$1]}"); do total=$((total + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status"))); done
  echo $((total / 1024))
}

for s in "${SERVERS[@]}"; do # warm: the first request of each (wshost opens its driver)
  curl -fsS -o /dev/null -u "${CRED[$s]}" "${URL[$s]}/small.bin"
done

measure() {
# ---- big transfers and listings, interleaved ------------------------------------------------
for run in $(seq "$RUNS"); do
  for s in "${SERVERS[@]}"; do
    reset_peak "$s"
    t=$(now); curl -fsS -o /dev/null -u "${CRED[$s]}" "${URL[$s]}/big.bin"; d=$(since "$t")
    echo "get_1gib	$s	$(mbps "$SIZE" "$d")"
    echo "rss_get	$s	$(peak_mib "$s")"
    reset_peak "$s"
    t=$(now); curl -fsS -o /dev/null -u "${CRED[$s]}" -H 'Expect:' -T "$WORK/big.bin" "${URL[$s]}/up-$s.bin"; d=$(since "$t")
    echo "put_1gib	$s	$(mbps "$SIZE" "$d")"
    echo "rss_put	$s	$(peak_mib "$s")"
    cmp -s "$WORK/big.bin" "$DATA/up-$s.bin" || { echo "bench: the $s upload differs" >&2; exit 1; }
    rm -f "$DATA/up-$s.bin"
    t=$(now)
    n=$(curl -fsS -u "${CRED[$s]}" -X PROPFIND -H 'Depth: 1' "${URL[$s]}/many/" | grep -o '<[A-Za-z]*:response[ >]' | wc -l)
    d=$(since "$t")
    [[ $n -eq 10001 ]] || { echo "bench: $s listed $n responses, not 10001" >&2; exit 1; }
    echo "propfind_10k	$s	$d"
  done
done

# ---- small requests under wrk ----------------------------------------------------------------
cat >"$WORK/propfind.lua" <<'EOF'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "0"
EOF
wrk_rps() { wrk -t2 -c64 -d"$WRK_DURATION" "$@" | awk '/Requests\/sec/ {print $2}'; }
for run in $(seq "$RUNS"); do
  for s in "${SERVERS[@]}"; do
    auth="Authorization: Basic $(printf %s "${CRED[$s]}" | base64 -w0)"
    echo "get_4k_rps	$s	$(wrk_rps -H "$auth" "${URL[$s]}/small.bin")"
    echo "propfind0_rps	$s	$(wrk_rps -H "$auth" -s "$WORK/propfind.lua" "${URL[$s]}/small.bin")"
  done
done
}

measure | tee "$WORK/raw.tsv"

# ---- medians and ratios ----------------------------------------------------------------------
python3 - "$WORK/raw.tsv" <<'EOF'
import statistics, sys
from collections import defaultdict
figures = defaultdict(list)
for line in open(sys.argv[1]):
    what, server, value = line.rstrip("\n").split("\t")
    figures[what, server].append(float(value))
units = {"get_1gib": ("MB/s", True), "put_1gib": ("MB/s", True), "propfind_10k": ("s", False),
         "get_4k_rps": ("req/s", True), "propfind0_rps": ("req/s", True),
         "rss_get": ("MiB", False), "rss_put": ("MiB", False)}
print("\n| figure | wshost | Apache mod_dav | rclone serve | wshost / Apache | wshost / rclone |")
print("|---|---|---|---|---|---|")
for what, (unit, higher) in units.items():
    med = {s: statistics.median(figures[what, s]) for s in ("wshost", "apache", "rclone") if figures[what, s]}
    if len(med) < 3:
        continue
    # A ratio above 1 means wshost is ahead, whichever way the figure counts.
    ratio = lambda peer: med["wshost"] / med[peer] if higher else med[peer] / med["wshost"]
    print(f"| {what} ({unit}) | {med['wshost']:g} | {med['apache']:g} | {med['rclone']:g} | {ratio('apache'):.2f} | {ratio('rclone'):.2f} |")
EOF
