#!/usr/bin/env bash
# wshost side by side with nginx, rclone serve webdav and a tuned bare axum server
# (bench/axum-baseline), all on 127.0.0.1, in one run on one machine: only the ratios mean
# something on a shared machine. Not part of the test command; takes 10–15 minutes.
#
# Usage: bench/run.sh
# Environment (all optional):
#   RUNS=5            1 GiB downloads and uploads per server (interleaved round-robin)
#   LIST_RUNS=20      10k listings per server
#   WRK_RUNS=3        wrk runs per server and load; WRK_DURATION=5s each
#   STARTUP_RUNS=5    start-ups per server
#   BENCH_TMP=/var/tmp  where the data and upload targets go (its filesystem matters)
#   NO_INSTALL=1      do not apt-get the peers; NO_BUILD=1 reuse target/release
#   SKIP_DROPBOX=1    skip the Dropbox driver part
#   SKIP_SFTP=1       skip access.sftp against sftp and rclone (bench/sftp.sh, needs
#                     tests/setup.sh's sshd and account)
#   SKIP_WEBDAV=1     skip the WebDAV door against Apache mod_dav and rclone serve webdav
#                     (bench/webdav.sh; installs apache2)
#   SKIP_S3=1         skip access.s3 against rclone and boto3 on SeaweedFS (bench/s3.sh,
#                     needs tests/setup.sh's venv with weed and boto3)
#   SKIP_ZIP=1        skip zip downloads against Info-ZIP's zip -0 -r - (bench/zip.sh)
#   KEEP=1            keep the temporary folder (logs, configs, raw figures)
#   BENCH_SOURCE=DIR  the tree the release binaries were built from (for the report)
# Writes bench/results/<UTC date and time>.md and prints it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REL="${CARGO_TARGET_DIR:-$REPO/target}/release"
RUNS=${RUNS:-5}
LIST_RUNS=${LIST_RUNS:-20}
WRK_RUNS=${WRK_RUNS:-3}
WRK_DURATION=${WRK_DURATION:-5s}
STARTUP_RUNS=${STARTUP_RUNS:-5}
BENCH_TMP=${BENCH_TMP:-/var/tmp}
ADMIN_PASSWORD=bench-admin-password
GIB=1073741824

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- peers -------------------------------------------------------------------------------
if [[ -z "${NO_INSTALL:-}" ]]; then
  missing=()
  for tool in nginx rclone wrk hyperfine curl python3 zip; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y "${missing[@]}" >/dev/null; }
  fi
fi
for tool in nginx rclone wrk hyperfine curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (run without NO_INSTALL, as root)"
done

# ---- build ---------------------------------------------------------------------------------
if [[ -z "${NO_BUILD:-}" ]]; then
  log "cargo build --release (wshost, plugins, axum-baseline, fake-dropbox)"
  (cd "$REPO" && cargo build --release --quiet)
fi
for f in wshost axum-baseline fake-dropbox libaccess_fs.so libaccess_dropbox.so; do
  [[ -e "$REL/$f" ]] || die "$REL/$f is missing: build with cargo build --release"
done

# ---- scratch folder, servers, cleanup -----------------------------------------------------
WORK=$(mktemp -d "$BENCH_TMP/wshost-bench.XXXXXX")
DATA="$WORK/data"
RAW="$WORK/results.tsv"
: >"$RAW"
declare -A PID=()
cleanup() {
  local p
  for p in "${PID[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${PID[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [[ -n "${KEEP:-}" ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }

# ---- data ----------------------------------------------------------------------------------
log "generating data in $DATA"
mkdir -p "$DATA/dir10k" "$DATA/up"
head -c "$GIB" /dev/urandom >"$DATA/big.bin"
head -c 4096 /dev/urandom >"$DATA/small.bin"
head -c $((10000 * 1024)) /dev/urandom | split -b 1024 -a 5 -d - "$DATA/dir10k/f"
[[ $(find "$DATA/dir10k" -type f | wc -l) -eq 10000 ]] || die "the 10k folder is incomplete"
cat "$DATA/big.bin" >/dev/null # in the page cache for every server alike

# ---- configs -------------------------------------------------------------------------------
P_WS=$(free_port)
P_AX=$(free_port)
P_NG=$(free_port)
P_RC=$(free_port)
P_FD=$(free_port)
FD="http://127.0.0.1:$P_FD"
FD_REDIRECT="http://127.0.0.1:$P_WS/index.php?get_action=dropbox_oauth_authorize"
mkdir -p "$WORK/wshost" "$WORK/nginx/tmp"

# All plugins enabled (access.dropbox is off by default), one access.fs workspace on DATA.
cat >"$WORK/wshost/host.toml" <<EOF
listen = "127.0.0.1:$P_WS"
data_dir = "$WORK/wshost/data"
manifest_dirs = ["$REPO/manifests"]
plugin_dirs = ["$REL"]

[plugins]
enabled = ["access.fs", "access.dropbox"]

[[workspaces]]
id = "bench"
driver = "access.fs"
params = { ROOT = "$DATA" }

# The Dropbox part: a workspace on the fake Dropbox (started only for that part).
[[workspaces]]
id = "dbx"
driver = "access.dropbox"
params = { CLIENT_ID = "benchApp", CLIENT_SECRET = "bench-app-secret", AUTH_URL = "$FD/oauth2/authorize", TOKEN_URL = "$FD/oauth2/token", API_URL = "$FD", CONTENT_URL = "$FD" }
EOF

cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
user root;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_max_body_size 0;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$P_NG;
        location /f/ { alias $DATA/; dav_methods PUT; }
        location /ls/ { alias $DATA/; autoindex on; autoindex_format json; }
    }
}
EOF

# wshost logs at warn: nginx runs without an access log and the baseline logs nothing.
export WSHOST_LOG=warn WSHOST_ADMIN_PASSWORD=$ADMIN_PASSWORD RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
WS_CMD=("$REL/wshost" serve --config "$WORK/wshost/host.toml")
AX_CMD=("$REL/axum-baseline" "127.0.0.1:$P_AX" "$DATA")
NG_CMD=(nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf")
RC_CMD=(rclone serve webdav "$DATA" --addr "127.0.0.1:$P_RC")

TOKEN=$("$REL/wshost" token create admin --label bench --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log")
AUTH=(-H "Authorization: Bearer $TOKEN")
WS="http://127.0.0.1:$P_WS/index.php?ws=bench&get_action"
AX="http://127.0.0.1:$P_AX"
NG="http://127.0.0.1:$P_NG"
RC="http://127.0.0.1:$P_RC"

# ---- start-up time and plugin load time (before the long-lived servers) -------------------
log "start-up to the first served request ($STARTUP_RUNS each)"
startup() { # NAME URL [HEADER] -- CMD...
  local name=$1 url=$2
  shift 2
  local header=()
  if [[ $1 != -- ]]; then header=(--header "$1"); shift; fi
  shift
  python3 "$REPO/bench/startup.py" --url "$url" "${header[@]}" --runs "$STARTUP_RUNS" \
    --log "$WORK/startup-$name.log" -- "$@" | while read -r ms; do record startup "$name" "$ms"; done
}
startup wshost "$WS=stat&file=/small.bin" "Authorization: Bearer $TOKEN" -- "${WS_CMD[@]}"
startup axum "$AX/f/small.bin" -- "${AX_CMD[@]}"
startup nginx "$NG/f/small.bin" -- "${NG_CMD[@]}"
loaded=$("$REL/wshost" plugins list --json --config "$WORK/wshost/host.toml" 2>/dev/null \
  | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin) if p["status"]=="loaded"))')
[[ $loaded == *access.fs* && $loaded == *access.dropbox* ]] \
  || die "not every plugin loads at start-up (loaded: $loaded)"

log "plugin load time (hyperfine)"
hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/plugins.json" \
  -n "wshost --version (process start only)" "$REL/wshost --version" \
  -n "plugins check access.fs" "$REL/wshost plugins check $REL/libaccess_fs.so --manifest $REPO/manifests/access.fs.toml" \
  -n "plugins check access.dropbox" "$REL/wshost plugins check $REL/libaccess_dropbox.so --manifest $REPO/manifests/access.dropbox.toml" \
  >/dev/null
python3 - "$WORK/plugins.json" >>"$RAW" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    for t in r["times"]:
        print(f"plugin_load\t{r['command']}\t{t * 1000:.3f}")
EOF

log "plugin load time as the host logs it (load_ms, $STARTUP_RUNS starts)"
WSHOST_LOG=info WSHOST_LOG_FORMAT=json python3 - "$STARTUP_RUNS" "${WS_CMD[@]}" >>"$RAW" <<'EOF'
import json, subprocess, sys
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(runs):
    host = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    loaded = {}
    for line in host.stderr:
        fields = json.loads(line).get("fields", {}) if line.startswith("{") else {}
        if fields.get("message") == "plugin loaded":
            loaded[fields["plugin"]] = fields["load_ms"]
        if len(loaded) == 2 or "listening" in fields.get("message", ""):
            break
    host.terminate()
    host.wait()
    for plugin, ms in loaded.items():
        print(f"plugin_load_logged\t{plugin}\t{ms}")
EOF

# ---- long-lived servers ---------------------------------------------------------------------
"${WS_CMD[@]}" 2>>"$WORK/wshost/log" &
PID[wshost]=$!
"${AX_CMD[@]}" 2>"$WORK/axum.log" &
PID[axum]=$!
"${NG_CMD[@]}" &
PID[nginx]=$!
"${RC_CMD[@]}" 2>"$WORK/rclone.log" &
PID[rclone]=$!

wait_up() { # URL [curl args]
  local url=$1
  shift
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  die "no answer from $url"
}
wait_up "$WS=stat&file=/small.bin" "${AUTH[@]}"
wait_up "$AX/f/small.bin"
wait_up "$NG/f/small.bin"
wait_up "$RC/small.bin"

# All processes of a server (nginx: the master and its workers).
pids_of() {
  local p=${PID[$1]}
  echo "$p"
  pgrep -P "$p" || true
}
reset_peak() { local p; for p in $(pids_of "$1"); do echo 5 >"/proc/$p/clear_refs"; done; }
peak_mib() { # the sum of VmHWM over the server's processes
  local p total=0
  for p in $(pids_of "$1"); do
    total=$((total + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status")))
  done
  python3 -c "print(f'{$total / 1024:.2f}')"
}

# curl ARGS... -> prints "HTTP_CODE SECONDS"
timed() { curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "$@"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f}')"; }

# ---- 1 GiB downloads ------------------------------------------------------------------------
declare -A DOWN=(
  [wshost]="$WS=download&file=/big.bin"
  [axum]="$AX/f/big.bin"
  [nginx]="$NG/f/big.bin"
  [rclone]="$RC/big.bin"
)
DOWN_ORDER=(wshost axum nginx rclone)
log "1 GiB downloads ($RUNS rounds)"
for s in "${DOWN_ORDER[@]}"; do
  curl -sS "${AUTH[@]}" "${DOWN[$s]}" | cmp -s - "$DATA/big.bin" || die "$s served different bytes"
  reset_peak "$s"
done
for i in $(seq "$RUNS"); do
  for s in "${DOWN_ORDER[@]}"; do
    read -r code secs < <(timed "${AUTH[@]}" "${DOWN[$s]}")
    [[ $code == 200 ]] || die "$s download: HTTP $code"
    record download "$s" "$(mbps $GIB "$secs")"
  done
done
for s in "${DOWN_ORDER[@]}"; do record rss_download "$s" "$(peak_mib "$s")"; done

# ---- 1 GiB uploads --------------------------------------------------------------------------
declare -A UP=(
  [wshost]="$WS=upload&file=/up/wshost.bin"
  [axum]="$AX/f/up/axum.bin"
  ["axum temp+fsync+rename"]="$AX/f/up/axum-safe.bin?safe"
  [nginx]="$NG/f/up/nginx.bin"
  [rclone]="$RC/up/rclone.bin"
)
declare -A UP_FILE=(
  [wshost]=wshost.bin [axum]=axum.bin ["axum temp+fsync+rename"]=axum-safe.bin
  [nginx]=nginx.bin [rclone]=rclone.bin
)
UP_ORDER=(wshost axum "axum temp+fsync+rename" nginx rclone)
log "1 GiB uploads ($RUNS rounds)"
for s in wshost axum nginx rclone; do reset_peak "$s"; done
sync
for i in $(seq "$RUNS"); do
  for s in "${UP_ORDER[@]}"; do
    read -r code secs < <(timed -H 'Expect:' -T "$DATA/big.bin" "${AUTH[@]}" "${UP[$s]}")
    [[ $code =~ ^20[014]$ ]] || die "$s upload: HTTP $code"
    target="$DATA/up/${UP_FILE[$s]}"
    [[ $(stat -c %s "$target") -eq $GIB ]] || die "$s upload: wrong size"
    if ((i == 1)); then cmp -s "$target" "$DATA/big.bin" || die "$s upload: different bytes"; fi
    record upload "$s" "$(mbps $GIB "$secs")"
    rm -f "$target"
    sync # the next server starts with no dirty pages of this one
  done
done
for s in wshost axum nginx rclone; do record rss_upload "$s" "$(peak_mib "$s")"; done

# ---- 10k listing ----------------------------------------------------------------------------
declare -A LIST=(
  [wshost]="$WS=ls&dir=/dir10k&limit=10000"
  [axum]="$AX/ls/dir10k"
  [nginx]="$NG/ls/dir10k/"
)
LIST_ORDER=(wshost axum nginx)
log "10k listings ($LIST_RUNS rounds)"
for s in "${LIST_ORDER[@]}"; do
  n=$(curl -sS "${AUTH[@]}" "${LIST[$s]}" | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(len(v["entries"] if isinstance(v, dict) else v))')
  [[ $n -eq 10000 ]] || die "$s listed $n entries, not 10000"
  timed "${AUTH[@]}" "${LIST[$s]}" >/dev/null # warm-up
done
for i in $(seq "$LIST_RUNS"); do
  for s in "${LIST_ORDER[@]}"; do
    read -r code secs < <(timed "${AUTH[@]}" "${LIST[$s]}")
    [[ $code == 200 ]] || die "$s list: HTTP $code"
    record list10k "$s" "$(python3 -c "print(f'{$secs * 1000:.2f}')")"
  done
done

# ---- small requests under wrk ---------------------------------------------------------------
wrk_rps() { # METRIC SERVER URL [HEADER]
  local metric=$1 server=$2 url=$3 out
  shift 3
  out=$(wrk -t2 -c64 -d"$WRK_DURATION" "$@" "$url")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "$out" >&2
    die "$server $metric: wrk saw error answers"
  fi
  record "$metric" "$server" "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
}
log "wrk -t2 -c64 -d$WRK_DURATION ($WRK_RUNS rounds)"
for i in $(seq "$WRK_RUNS"); do
  wrk_rps stat wshost "$WS=stat&file=/small.bin" -H "Authorization: Bearer $TOKEN"
  wrk_rps stat axum "$AX/stat/small.bin"
  wrk_rps small4k wshost "$WS=download&file=/small.bin" -H "Authorization: Bearer $TOKEN"
  wrk_rps small4k axum "$AX/f/small.bin"
  wrk_rps small4k nginx "$NG/f/small.bin"
done

# ---- Dropbox driver: upload sessions against the fake vs a plain streaming POST ------------
# The same 128 MiB through wshost's access.dropbox (8 MiB chunks: upload_session start,
# append_v2 ×15, finish, with content hashes) and in one plain files/upload POST at the fake
# (its limit is 150 MiB per request).
dropbox_part() {
  local size=$((128 * 1024 * 1024)) file="$WORK/dbx.bin" authorize back code at i
  head -c $size /dev/urandom >"$file"
  "$REL/fake-dropbox" --listen "127.0.0.1:$P_FD" --client-id benchApp \
    --client-secret bench-app-secret --redirect-uri "$FD_REDIRECT" --auto-approve \
    >"$WORK/fake-dropbox.log" 2>&1 &
  PID[fake]=$!
  wait_up "$FD/__fake/counters"
  # Connect the admin's account through the host, as a browser would.
  authorize=$(curl -sS "${AUTH[@]}" "http://127.0.0.1:$P_WS/index.php?get_action=ls&ws=dbx&dir=/" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["error"]["authorize_url"])')
  back=$(curl -sS -o /dev/null -w '%{redirect_url}' "$authorize")
  curl -sS -c "$WORK/cookies" -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "http://127.0.0.1:$P_WS/api/login"
  code=$(curl -sS -b "$WORK/cookies" -o /dev/null -w '%{http_code}' "$back")
  [[ $code == 303 ]] || die "Dropbox connect: callback answered $code"
  # A token of our own at the fake for the plain POST.
  back=$(curl -sS -o /dev/null -w '%{redirect_url}' -G "$FD/oauth2/authorize" \
    -d client_id=benchApp -d response_type=code --data-urlencode "redirect_uri=$FD_REDIRECT")
  code=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["code"][0])' "$back")
  at=$(curl -sS "$FD/oauth2/token" -d grant_type=authorization_code -d "code=$code" \
    -d client_id=benchApp -d client_secret=bench-app-secret --data-urlencode "redirect_uri=$FD_REDIRECT" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  for i in $(seq "$RUNS"); do
    read -r code secs < <(timed -H 'Expect:' -T "$file" "${AUTH[@]}" \
      "http://127.0.0.1:$P_WS/index.php?get_action=upload&ws=dbx&file=/via-wshost.bin")
    [[ $code == 201 ]] || die "Dropbox upload through wshost: HTTP $code"
    record dropbox_upload "wshost (upload sessions)" "$(mbps $size "$secs")"
    read -r code secs < <(timed -H 'Expect:' -X POST -T "$file" -H "Authorization: Bearer $at" \
      -H 'Content-Type: application/octet-stream' \
      -H 'Dropbox-API-Arg: {"path":"/plain.bin","mode":"overwrite"}' "$FD/2/files/upload")
    [[ $code == 200 ]] || die "plain POST to the fake: HTTP $code"
    record dropbox_upload "plain POST (curl)" "$(mbps $size "$secs")"
  done
}
if [[ -z "${SKIP_DROPBOX:-}" ]]; then
  log "Dropbox driver against the fake ($RUNS rounds)"
  dropbox_part
fi

# ---- report ---------------------------------------------------------------------------------
MACHINE="$WORK/machine.txt"
{
  echo "date (UTC):  $(date -u '+%Y-%m-%d %H:%M')"
  SOURCE=${BENCH_SOURCE:-$REPO} # the tree the binaries were built from
  echo "commit:      $(git -C "$SOURCE" rev-parse --short HEAD)$(git -C "$SOURCE" diff --quiet HEAD -- host plugins plugin-api || echo ' (with uncommitted changes)')"
  echo "cpu:         $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory:      $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel:      $(uname -r)"
  echo "data on:     $(df -T "$DATA" | awk 'NR==2 {print $2}') ($BENCH_TMP)"
  echo "nginx:       $(nginx -v 2>&1 | sed 's/.*: //')"
  echo "rclone:      $(rclone version 2>/dev/null | head -1)"
  echo "curl:        $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "wrk:         $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "rustc:       $(rustc --version)"
  echo "runs:        RUNS=$RUNS LIST_RUNS=$LIST_RUNS WRK_RUNS=$WRK_RUNS WRK_DURATION=$WRK_DURATION STARTUP_RUNS=$STARTUP_RUNS"
} >"$MACHINE"
mkdir -p "$REPO/bench/results"
OUT="$REPO/bench/results/$(date -u +%Y-%m-%d-%H%M).md"
{
  echo "# bench/run.sh results"
  echo
  python3 "$REPO/bench/report.py" "$RAW" "$MACHINE"
  echo
  echo "## Raw figures"
  echo
  echo '```'
  cat "$RAW"
  echo '```'
} >"$OUT"
# ---- access.sftp against OpenSSH's sftp and rclone on one sshd (its own script) -----------
if [[ -z "${SKIP_SFTP:-}" ]]; then
  log "access.sftp side by side with sftp and rclone (bench/sftp.sh $RUNS)"
  {
    echo
    echo "## access.sftp (bench/sftp.sh $RUNS)"
    echo
    echo '```'
    "$REPO/bench/sftp.sh" "$RUNS" || echo "bench/sftp.sh failed (see its message above)"
    echo '```'
  } >>"$OUT"
fi
# ---- access.s3 against rclone and boto3 on one SeaweedFS (its own script) ------------------
if [[ -z "${SKIP_S3:-}" ]]; then
  log "access.s3 side by side with rclone and boto3 (bench/s3.sh $RUNS)"
  {
    echo
    echo "## access.s3 (bench/s3.sh $RUNS)"
    echo
    echo '```'
    "$REPO/bench/s3.sh" "$RUNS" || echo "bench/s3.sh failed (see its message above)"
    echo '```'
  } >>"$OUT"
fi
# ---- the WebDAV door against Apache mod_dav and rclone serve webdav (its own script) --------
if [[ -z "${SKIP_WEBDAV:-}" ]]; then
  log "the WebDAV door side by side with Apache mod_dav and rclone serve webdav (bench/webdav.sh $RUNS)"
  {
    echo
    echo "## WebDAV (bench/webdav.sh $RUNS)"
    echo
    "$REPO/bench/webdav.sh" "$RUNS" || echo "bench/webdav.sh failed (see its message above)"
  } >>"$OUT"
fi
# ---- zip downloads against Info-ZIP on the same tree (its own script) ----------------------
if [[ -z "${SKIP_ZIP:-}" ]]; then
  log "zip downloads side by side with zip -0 -r - (bench/zip.sh $RUNS)"
  {
    echo
    echo "## Zip downloads (bench/zip.sh $RUNS)"
    echo
    echo '```'
    BENCH_TMP="$BENCH_TMP" "$REPO/bench/zip.sh" "$RUNS" || echo "bench/zip.sh failed (see its message above)"
    echo '```'
  } >>"$OUT"
fi
cat "$OUT"
echo "written: $OUT" >&2
