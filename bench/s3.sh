#!/usr/bin/env bash
# access.s3 side by side with rclone's S3 backend and boto3's managed transfer, all on the same
# SeaweedFS (tests/.venv/bin/weed, started as tests/src/s3.rs starts it: free 127.0.0.1
# ports, an identity whose keys it checks) in the same run: upload and download of SIZE
# (default 1 GiB), a listing of a KEYS-key prefix (default 10,000), and the host's peak RSS
# during its upload above its idle RSS.
#
#   bench/s3.sh [RUNS]        (release build of wshost and access-s3 first; tests/setup.sh)
#
# wshost is measured end to end over HTTP with curl (client -> wshost -> S3 -> SeaweedFS), the
# others straight to SeaweedFS, so wshost pays an extra hop on the same machine. Prints one
# line per measurement: what, tool, figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=${SIZE:-$((1 << 30))}
KEYS=${KEYS:-10000}
PART_SIZE=${PART_SIZE:-$((16 << 20))} # access.s3's default
REL=target/release
WEED=tests/.venv/bin/weed
PY=tests/.venv/bin/python
for tool in rclone curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/s3.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[[ -x $WEED ]] && "$PY" -c 'import boto3' 2>/dev/null \
  || { echo "bench/s3.sh: weed or boto3 is missing from tests/.venv (run tests/setup.sh)" >&2; exit 1; }
[[ -x $REL/wshost && -f $REL/libaccess_s3.so ]] || { echo "build first: cargo build --release -p wshost -p access-s3" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/wshost-s3-bench.XXXX")
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f} MB/s')"; }

# ---- SeaweedFS -------------------------------------------------------------------------------
export S3_ACCESS_KEY_ID="AKIA$(python3 -c 'import secrets; print(secrets.token_hex(8).upper())')"
export S3_SECRET_ACCESS_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
export S3_BUCKET=bench S3_REGION=us-east-1
cat >"$WORK/s3.json" <<EOF
{"identities":[{"name":"bench","credentials":[{"accessKey":"$S3_ACCESS_KEY_ID","secretKey":"$S3_SECRET_ACCESS_KEY"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
mkdir -p "$WORK/weed"
P=()
for _ in $(seq 8); do P+=("$(free_port)"); done
"$WEED" server -dir="$WORK/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -filer -s3 \
  -master.port="${P[0]}" -master.port.grpc="${P[1]}" -volume.port="${P[2]}" -volume.port.grpc="${P[3]}" \
  -filer.port="${P[4]}" -filer.port.grpc="${P[5]}" -s3.port="${P[6]}" -s3.port.grpc="${P[7]}" \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false -s3.config="$WORK/s3.json" \
  -master.volumeSizeLimitMB=1024 -volume.max=0 >"$WORK/weed.log" 2>&1 &
PIDS+=($!)
export S3_ENDPOINT="http://127.0.0.1:${P[6]}"
for _ in $(seq 300); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/$S3_BUCKET" || true) == 403 ]] && break
  sleep 0.2
done
for _ in $(seq 30); do "$PY" tests/python/s3_client.py create-bucket 2>/dev/null && break; sleep 1; done

echo "bench: making the ${SIZE}-byte file and $KEYS keys" >&2
head -c "$SIZE" /dev/urandom >"$WORK/big.bin"
"$PY" - "$KEYS" <<'EOF'
import sys, os, concurrent.futures as cf
sys.path.insert(0, "tests/python")
from s3_client import client
s3 = client()
with cf.ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda i: s3.put_object(Bucket=os.environ["S3_BUCKET"], Key=f"many/entry-{i:05d}.txt", Body=b""), range(int(sys.argv[1]))))
EOF
"$PY" tests/python/s3_client.py put big.bin "$WORK/big.bin"

# ---- wshost ----------------------------------------------------------------------------------
P_WS=$(free_port)
mkdir -p "$WORK/wshost/manifests"
sed 's/^enabled = false/enabled = true/' manifests/access.s3.toml >"$WORK/wshost/manifests/access.s3.toml"
cat >"$WORK/wshost/host.toml" <<EOF
listen = "127.0.0.1:$P_WS"
data_dir = "$WORK/wshost/data"
manifest_dirs = ["$WORK/wshost/manifests"]
plugin_dirs = ["$PWD/$REL"]
[[workspaces]]
id = "bench"
driver = "access.s3"
params = { ENDPOINT = "$S3_ENDPOINT", BUCKET = "$S3_BUCKET", PATH_STYLE = true, ACCESS_KEY_ID = "$S3_ACCESS_KEY_ID", SECRET_ACCESS_KEY = "$S3_SECRET_ACCESS_KEY", PART_SIZE = $PART_SIZE }
EOF
export WSHOST_LOG=warn WSHOST_ADMIN_PASSWORD=bench-admin-password
"$REL/wshost" serve --config "$WORK/wshost/host.toml" 2>"$WORK/wshost/log" &
WS_PID=$!
PIDS+=("$WS_PID")
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$P_WS/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$("$REL/wshost" token create admin --label bench --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log")
AUTH=(-H "Authorization: Bearer $TOKEN")
WS="http://127.0.0.1:$P_WS/index.php?ws=bench&get_action"
curl -fsS "${AUTH[@]}" "$WS=ls&dir=/" >/dev/null || { cat "$WORK/wshost/log" >&2; exit 1; }
kib() { awk -v f="$1" '$1 == f":" {print $2}' "/proc/$WS_PID/status"; }
idle=$(kib VmRSS) # connected, nothing transferred yet

# ---- clients ---------------------------------------------------------------------------------
cat >"$WORK/rclone.conf" <<EOF
[s]
type = s3
provider = Other
endpoint = $S3_ENDPOINT
access_key_id = $S3_ACCESS_KEY_ID
secret_access_key = $S3_SECRET_ACCESS_KEY
force_path_style = true
EOF
# rclone 1.60 refuses to start when AWS_CA_BUNDLE is set (its HTTP transport is its own); the
# endpoint is plain HTTP on loopback, so it is dropped for rclone only.
RCLONE=(env -u AWS_CA_BUNDLE rclone --config "$WORK/rclone.conf")
BOTO=("$PY" tests/python/s3_client.py)

for run in $(seq "$RUNS"); do
  t=$(now); curl -fsS -o /dev/null "${AUTH[@]}" "$WS=download&file=/big.bin"; s=$(since "$t")
  echo "download	wshost	$(mbps "$SIZE" "$s")"
  t=$(now); "${RCLONE[@]}" cat "s:$S3_BUCKET/big.bin" >/dev/null; s=$(since "$t")
  echo "download	rclone-s3	$(mbps "$SIZE" "$s")"
  # download_file writes a file (it cannot stream to a pipe); on the same disk as the data.
  t=$(now); "${BOTO[@]}" get big.bin "$WORK/got-boto3.bin"; s=$(since "$t")
  echo "download	boto3	$(mbps "$SIZE" "$s")"
  rm -f "$WORK/got-boto3.bin"

  before=$(kib VmRSS)
  echo 5 >"/proc/$WS_PID/clear_refs" # VmHWM back to the current RSS
  t=$(now); curl -fsS -o /dev/null -H 'Expect:' -X POST -T "$WORK/big.bin" "${AUTH[@]}" "$WS=upload&dir=/&name=up-wshost.bin"; s=$(since "$t")
  echo "upload	wshost	$(mbps "$SIZE" "$s")"
  peak=$(kib VmHWM)
  echo "upload peak RSS above idle	wshost	$(python3 -c "print(f'{($peak - $idle) / 1024:.1f} MiB (idle {$idle / 1024:.1f} MiB, before the upload {$before / 1024:.1f} MiB, peak {$peak / 1024:.1f} MiB, limit 3 x PART_SIZE = {3 * $PART_SIZE / 2**20:.0f} MiB)')")"
  t=$(now); "${RCLONE[@]}" copyto "$WORK/big.bin" "s:$S3_BUCKET/up-rclone.bin"; s=$(since "$t")
  echo "upload	rclone-s3	$(mbps "$SIZE" "$s")"
  t=$(now); "${BOTO[@]}" put up-boto3.bin "$WORK/big.bin"; s=$(since "$t")
  echo "upload	boto3	$(mbps "$SIZE" "$s")"
  curl -fsS -o "$WORK/check.bin" "${AUTH[@]}" "$WS=download&file=/up-wshost.bin"
  cmp -s "$WORK/big.bin" "$WORK/check.bin" || { echo "bench: the wshost upload differs" >&2; exit 1; }
  rm -f "$WORK/check.bin"
  # Every upload a new object next round (rclone would skip one of the same size and time).
  "${RCLONE[@]}" delete "s:$S3_BUCKET" --include 'up-*.bin'

  # The pages (S3 gives at most 1,000 keys a page) in one process, as the clients list.
  t=$(now)
  n=$(python3 - "$WS=ls&dir=/many&limit=10000" "$TOKEN" <<'EOF'
import json, sys, urllib.parse, urllib.request
url, token, cursor, n = sys.argv[1], sys.argv[2], None, 0
while True:
    page_url = url + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
    request = urllib.request.Request(page_url, headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(request))
    n += len(page["entries"])
    cursor = page.get("next_cursor")
    if not cursor:
        break
print(n)
EOF
)
  s=$(since "$t")
  [[ $n -eq $KEYS ]] || { echo "bench: wshost listed $n entries, not $KEYS" >&2; exit 1; }
  echo "list $KEYS	wshost	$s s"
  t=$(now); "${RCLONE[@]}" lsf "s:$S3_BUCKET/many" >/dev/null; s=$(since "$t")
  echo "list $KEYS	rclone-s3	$s s"
  t=$(now); "${BOTO[@]}" keys many/ >/dev/null; s=$(since "$t")
  echo "list $KEYS	boto3	$s s"
done
