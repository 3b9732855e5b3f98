#!/usr/bin/env bash
# access.sftp side by side with OpenSSH's own `sftp` client and rclone's SFTP backend, all on
# the same unprivileged OpenSSH sshd in the same run (as the tests start it: account
# wshost-sftp from tests/setup.sh, generated host and user keys, a free 127.0.0.1 port):
# upload and download of SIZE (default 1 GiB) and a listing of a 10,000-entry folder.
#
#   bench/sftp.sh [RUNS]        (root; release build of wshost and access-sftp first)
#
# wshost is measured end to end over HTTP with curl (client -> wshost -> SSH -> sshd), the
# others straight to sshd, so wshost pays an extra hop on the same machine. Prints one line
# per measurement: what, tool, figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=${SIZE:-$((1 << 30))}
REL=target/release
ACCOUNT=wshost-sftp
for tool in /usr/sbin/sshd sftp rclone curl python3 setpriv; do
  command -v "$tool" >/dev/null || { echo "bench/sftp.sh: $tool is missing (tests/setup.sh, apt-get install rclone)" >&2; exit 1; }
done
[[ -x $REL/wshost && -f $REL/libaccess_sftp.so ]] || { echo "build first: cargo build --release -p wshost -p access-sftp" >&2; exit 1; }

WORK=$(mktemp -d /tmp/wshost-sftp-bench.XXXX)
declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f} MB/s')"; }

# ---- sshd ------------------------------------------------------------------------------------
chmod 755 "$WORK"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/user_key"
cp "$WORK/user_key.pub" "$WORK/authorized_keys"
mkdir -p "$WORK/root/many"
P_SSH=$(free_port)
cat >"$WORK/sshd_config" <<EOF
Port $P_SSH
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
StrictModes no
Subsystem sftp internal-sftp
PrintMotd no
EOF
echo "bench: making the ${SIZE}-byte file and 10,000 names" >&2
head -c "$SIZE" /dev/urandom >"$WORK/root/big.bin"
(cd "$WORK/root/many" && seq -f 'entry-%05g.txt' 10000 | xargs touch)
chown -R "$ACCOUNT:" "$WORK"
setpriv --reuid "$ACCOUNT" --regid "$ACCOUNT" --init-groups /usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -qs "Server listening" "$WORK/sshd.log" && break; sleep 0.1; done
FP=$(ssh-keygen -lf "$WORK/host_key.pub" | cut -d' ' -f2)
echo "127.0.0.1 $(cut -d' ' -f1-2 "$WORK/host_key.pub")" | sed "s/^127.0.0.1/[127.0.0.1]:$P_SSH/" >"$WORK/known_hosts"

# ---- wshost ----------------------------------------------------------------------------------
P_WS=$(free_port)
mkdir -p "$WORK/wshost/manifests"
sed 's/^enabled = false/enabled = true/' manifests/access.sftp.toml >"$WORK/wshost/manifests/access.sftp.toml"
KEY=$(tr '\n' ' ' <"$WORK/user_key")
cat >"$WORK/wshost/host.toml" <<EOF
listen = "127.0.0.1:$P_WS"
data_dir = "$WORK/wshost/data"
manifest_dirs = ["$WORK/wshost/manifests"]
plugin_dirs = ["$PWD/$REL"]
[[workspaces]]
id = "bench"
driver = "access.sftp"
params = { HOST = "127.0.0.1", PORT = $P_SSH, USER = "$ACCOUNT", HOST_KEY = "$FP", ROOT = "$WORK/root", PRIVATE_KEY = "$KEY" }
EOF
export WSHOST_LOG=warn WSHOST_ADMIN_PASSWORD=bench-admin-password
"$REL/wshost" serve --config "$WORK/wshost/host.toml" 2>"$WORK/wshost/log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$P_WS/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$("$REL/wshost" token create admin --label bench --config "$WORK/wshost/host.toml" 2>>"$WORK/wshost/log")
AUTH=(-H "Authorization: Bearer $TOKEN")
WS="http://127.0.0.1:$P_WS/index.php?ws=bench&get_action"
curl -fsS "${AUTH[@]}" "$WS=ls&dir=/" >/dev/null # connects the pool

# ---- clients ---------------------------------------------------------------------------------
SFTP=(sftp -q -b - -i "$WORK/user_key" -P "$P_SSH" -o "UserKnownHostsFile=$WORK/known_hosts" -o BatchMode=yes "$ACCOUNT@127.0.0.1")
cat >"$WORK/rclone.conf" <<EOF
[s]
type = sftp
host = 127.0.0.1
port = $P_SSH
user = $ACCOUNT
key_file = $WORK/user_key
known_hosts_file = $WORK/known_hosts
EOF
RCLONE=(rclone --config "$WORK/rclone.conf" --sftp-disable-hashcheck)
R="$WORK/root"

for run in $(seq "$RUNS"); do
  t=$(now); curl -fsS -o /dev/null "${AUTH[@]}" "$WS=download&file=/big.bin"; s=$(since "$t")
  echo "download	wshost	$(mbps "$SIZE" "$s")"
  t=$(now); echo "get $R/big.bin /dev/null" | "${SFTP[@]}" >/dev/null; s=$(since "$t")
  echo "download	openssh-sftp	$(mbps "$SIZE" "$s")"
  t=$(now); "${RCLONE[@]}" cat "s:$R/big.bin" >/dev/null; s=$(since "$t")
  echo "download	rclone-sftp	$(mbps "$SIZE" "$s")"

  t=$(now); curl -fsS -o /dev/null -H 'Expect:' -X POST -T "$R/big.bin" "${AUTH[@]}" "$WS=upload&dir=/&name=up-wshost.bin"; s=$(since "$t")
  echo "upload	wshost	$(mbps "$SIZE" "$s")"
  t=$(now); echo "put $R/big.bin $R/up-sftp.bin" | "${SFTP[@]}" >/dev/null; s=$(since "$t")
  echo "upload	openssh-sftp	$(mbps "$SIZE" "$s")"
  t=$(now); "${RCLONE[@]}" copyto "$R/big.bin" "s:$R/up-rclone.bin"; s=$(since "$t")
  echo "upload	rclone-sftp	$(mbps "$SIZE" "$s")"
  cmp -s "$R/big.bin" "$R/up-wshost.bin" || { echo "bench: the wshost upload differs" >&2; exit 1; }
  rm -f "$R"/up-*.bin

  t=$(now)
  cursor=""
  while :; do
    page=$(curl -fsS "${AUTH[@]}" "$WS=ls&dir=/many&limit=10000${cursor:+&cursor=$cursor}")
    cursor=$(python3 -c 'import json, sys, urllib.parse as u; c = json.loads(sys.stdin.read()).get("next_cursor"); print(u.quote(c) if c else "")' <<<"$page")
    [[ -n $cursor ]] || break
  done
  echo "list 10000	wshost	$(since "$t") s"
  t=$(now); echo "ls -l $R/many" | "${SFTP[@]}" >/dev/null; s=$(since "$t")
  echo "list 10000	openssh-sftp	$s s"
  t=$(now); "${RCLONE[@]}" lsl "s:$R/many" >/dev/null; s=$(since "$t")
  echo "list 10000	rclone-sftp	$s s"
done
