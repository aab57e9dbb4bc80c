#!/usr/bin/env bash
# e2e.packaging.deb: the deb and rpm of vodd, end to end, on this machine.
#
#   packaging_test.sh SOURCE_DIR BUILD_DIR      (root; CI runs it as root)
#
# 1. cpack the deb from BUILD_DIR (built vodd) into a scratch folder; check
#    control fields and contents; lintian must report no errors or warnings.
# 2. dpkg -i; check user, folders, conffile, unit and its enablement.
# 3. run the packaged binary with the packaged config as the vodd user, with
#    the unit's environment and its MemoryDenyWriteExecute seccomp filter
#    (mdwe_exec.c); /healthz, /readyz; an ORC pipeline under the same filter;
#    `vodd backup` while it runs, then the documented restore; stop.
# 4. dpkg --remove keeps config and data; dpkg --purge removes everything but
#    the vodd system user (Debian policy), which this test then deletes.
# 5. cpack the rpm; check its file list, scriptlets and %config(noreplace).
# 6. systemd-analyze security --offline=yes on the unit: exposure <= 2.0.
#
# Exit 0 pass, 1 fail, 77 skip (not root; or vodd already installed or its
# folders exist, which the test must not touch). The trap restores the
# machine on any exit: the daemon is killed, the package purged, the user
# deleted if the test created it, scratch files removed.
set -euo pipefail

SRC="${1:?usage: packaging_test.sh SOURCE_DIR BUILD_DIR}"
BUILD="${2:?usage: packaging_test.sh SOURCE_DIR BUILD_DIR}"
START=$(date +%s)
MAX_EXPOSURE=2.0

log() { printf 'packaging: %s\n' "$*"; }
fail() {
  printf 'packaging: FAIL: %s\n' "$*" >&2
  exit 1
}
skip() {
  printf 'packaging: SKIP: %s\n' "$*"
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i, runuser)"
for tool in cpack dpkg dpkg-deb lintian rpm rpmbuild systemd-analyze curl \
  runuser setpriv sqlite3 cc gst-launch-1.0 unshare nginx openssl readelf flock; do
  command -v "$tool" >/dev/null || fail "missing tool $tool (packaging/deps.sh)"
done
# One run at a time per machine (it installs a system package).
exec 9>/run/lock/vodd-packaging-test.lock
flock -w 600 9 || fail "another packaging test holds /run/lock/vodd-packaging-test.lock"
[ -x "$BUILD/src/vodd" ] || fail "no built binary at $BUILD/src/vodd"
[ -f "$BUILD/CPackConfig.cmake" ] || fail "no $BUILD/CPackConfig.cmake"
if dpkg-query -W -f='${Status}' vodd 2>/dev/null | grep -q "installed"; then
  skip "a vodd package is installed here; not touching it"
fi
for p in /etc/vodd /var/lib/vodd /var/cache/vodd /run/vodd; do
  [ ! -e "$p" ] || skip "$p exists; not touching it"
done

# Not under /tmp: the ORC control below mounts a tmpfs over /tmp.
WORK=$(mktemp -d /var/tmp/vodd-packaging.XXXXXX)
chmod 0755 "$WORK"
USER_EXISTED=no
getent passwd vodd >/dev/null && USER_EXISTED=yes
GROUP_EXISTED=no
getent group vodd >/dev/null && GROUP_EXISTED=yes
DAEMON_PID=""
SYSTEMD_RUNNING=no
[ -d /run/systemd/system ] && SYSTEMD_RUNNING=yes

cleanup() {
  local rc=$?
  set +e
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
  fi
  if dpkg-query -W -f='${Status}' vodd 2>/dev/null | grep -Eq 'installed|config-files|unpacked|half-'; then
    dpkg --purge vodd >/dev/null 2>&1
  fi
  rm -rf /etc/vodd /var/lib/vodd /var/cache/vodd /run/vodd /var/log/vodd
  # deb-systemd-helper state, should a failed purge have left it (the test
  # only runs where no vodd package was installed, so it is ours).
  find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -name 'vodd.service*' \
    -exec rm -f {} + 2>/dev/null
  if [ "$USER_EXISTED" = no ] && getent passwd vodd >/dev/null; then
    # Anything still running as the user this test created is the test's.
    pkill -KILL -u vodd 2>/dev/null && sleep 0.5
    userdel vodd 2>/dev/null
  fi
  if [ "$GROUP_EXISTED" = no ] && getent group vodd >/dev/null; then
    groupdel vodd 2>/dev/null
  fi
  rm -rf "$WORK"
  log "finished in $(($(date +%s) - START)) s (rc=$rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- 1. the deb ---------------------------------------------------------------
log "cpack -G DEB"
cpack -G DEB -B "$WORK/deb" --config "$BUILD/CPackConfig.cmake" \
  >"$WORK/cpack-deb.log" 2>&1 || { cat "$WORK/cpack-deb.log"; fail "cpack DEB"; }
DEB=$(ls "$WORK"/deb/vodd_*.deb)
log "built $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

depends=$(dpkg-deb -f "$DEB" Depends)
for dep in adduser gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
  libc6 libgstreamer1.0-0 libsqlite3-0 libsoup-3.0-0 libsystemd0; do
  grep -Eq "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -t | sort >"$WORK/control.list"
for f in ./conffiles ./postinst ./prerm ./postrm; do
  grep -qx "$f" "$WORK/control.list" || fail "control lacks $f"
done
[ "$(dpkg-deb -I "$DEB" conffiles)" = "/etc/vodd/vodd.conf" ] ||
  fail "conffiles is not exactly /etc/vodd/vodd.conf"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/deb.list"
for f in /usr/bin/vodd /etc/vodd/vodd.conf /etc/vodd/conf.d/ \
  /lib/systemd/system/vodd.service /usr/lib/sysusers.d/vodd.conf \
  /usr/lib/tmpfiles.d/vodd.conf /usr/share/doc/vodd/copyright \
  /usr/share/doc/vodd/changelog.gz /usr/share/man/man1/vodd.1.gz \
  /usr/share/doc/vodd/examples/nginx-vodd-site.conf; do
  grep -qx "$f" "$WORK/deb.list" || fail "deb lacks $f"
done

log "lintian"
set +e
lintian --fail-on error,warning "$DEB" >"$WORK/lintian.log" 2>&1
lintian_rc=$?
set -e
sed 's/^/  lintian: /' "$WORK/lintian.log"
[ $lintian_rc -eq 0 ] || fail "lintian reported errors or warnings"
grep -Eq '^[EW]:' "$WORK/lintian.log" && fail "lintian output has E:/W: lines"

# --- 2. install ---------------------------------------------------------------
log "dpkg -i (systemd running: $SYSTEMD_RUNNING)"
dpkg -i "$DEB" >"$WORK/dpkg-i.log" 2>&1 || { cat "$WORK/dpkg-i.log"; fail "dpkg -i"; }

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd vodd) || fail "no user vodd"
[ "$home" = /var/lib/vodd ] || fail "vodd home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "vodd shell is $shell"
[ "$uid" -lt 1000 ] || fail "vodd is not a system user (uid $uid)"
getent group vodd >/dev/null || fail "no group vodd"
for d in /var/lib/vodd /var/cache/vodd; do
  [ "$(stat -c '%U:%G %a' "$d")" = "vodd:vodd 750" ] ||
    fail "$d is $(stat -c '%U:%G %a' "$d"), want vodd:vodd 750"
done
[ -d /etc/vodd/conf.d ] || fail "no /etc/vodd/conf.d"
[ "$(stat -c '%U:%G %a' /etc/vodd/vodd.conf)" = "root:root 644" ] ||
  fail "/etc/vodd/vodd.conf is $(stat -c '%U:%G %a' /etc/vodd/vodd.conf)"
grep -qx 'data_dir = /var/lib/vodd' /etc/vodd/vodd.conf || fail "conffile data_dir"
dpkg-query -W -f='${Conffiles}\n' vodd | grep -q '^ /etc/vodd/vodd.conf [0-9a-f]\{32\}$' ||
  fail "dpkg does not track /etc/vodd/vodd.conf as a conffile"
# The packaged conf is the generated sample with only data_dir changed.
diff <(/usr/bin/vodd print-config --format sample) /etc/vodd/vodd.conf \
  >"$WORK/conf.diff" || true
changed=$(grep -c '^[<>] [^#]' "$WORK/conf.diff" || true)
if [ "$changed" -ne 2 ] || ! grep -qx '> data_dir = /var/lib/vodd' "$WORK/conf.diff"; then
  cat "$WORK/conf.diff"
  fail "packaged conf differs from the sample beyond data_dir"
fi
UNIT=/lib/systemd/system/vodd.service
cmp -s "$UNIT" "$SRC/packaging/vodd.service" || fail "installed unit differs"
[ -L /etc/systemd/system/multi-user.target.wants/vodd.service ] ||
  fail "vodd.service not enabled (no multi-user.target.wants link)"
runuser -u vodd -- /usr/bin/vodd check-config --config /etc/vodd/vodd.conf >/dev/null ||
  fail "check-config as vodd"
[ "$(stat -c %U /usr/bin/vodd)" = root ] || fail "/usr/bin/vodd not root-owned"
if readelf -S /usr/bin/vodd | grep -q '\.symtab'; then
  fail "/usr/bin/vodd is not stripped"
fi

# Reinstall over an edited conffile (the upgrade path of the scripts): the
# admin's edit is kept, the user and the enablement stay.
echo "# edited by the packaging test" >>/etc/vodd/vodd.conf
dpkg -i --force-confold "$DEB" >"$WORK/dpkg-i2.log" 2>&1 || { cat "$WORK/dpkg-i2.log"; fail "dpkg -i (reinstall)"; }
tail -1 /etc/vodd/vodd.conf | grep -qx '# edited by the packaging test' || fail "reinstall replaced the edited conffile"
[ -L /etc/systemd/system/multi-user.target.wants/vodd.service ] || fail "reinstall lost the enablement"
[ "$(getent passwd vodd | cut -d: -f3)" = "$uid" ] || fail "reinstall changed the vodd uid"
sed -i '$d' /etc/vodd/vodd.conf

if [ "$SYSTEMD_RUNNING" = yes ]; then
  # With systemd as PID 1 the postinst started the service: check it, then
  # stop it so the manual run below has the data folder to itself.
  for _ in $(seq 60); do systemctl is-active --quiet vodd && break; sleep 0.5; done
  systemctl is-active --quiet vodd || { journalctl -u vodd --no-pager | tail -30; fail "vodd.service not active"; }
  curl -fsS http://127.0.0.1:8080/healthz >/dev/null || fail "service /healthz"
  systemctl stop vodd
fi

# --- 3. run the packaged binary as vodd ----------------------------------------
cc -O2 -o "$WORK/mdwe_exec" "$SRC/test/e2e/packaging/mdwe_exec.c" || fail "cc mdwe_exec"
chmod 0755 "$WORK/mdwe_exec"
[ "$(uname -m)" = x86_64 ] || fail "the sandbox emulation (mdwe_exec.c) is x86-64 only"
# The unit's SystemCallFilter= lines as syscall numbers: the first line is
# the allow-list, later ~ lines remove from it; @groups expanded by
# systemd-analyze, names mapped to numbers with the kernel's unistd_64.h.
expand_group() {
  systemd-analyze syscall-filter "$1" | sed -n '/^@/,$p' | tail -n +2 |
    grep -v '^[[:space:]]*#' | awk 'NF{print $1} /^$/{exit}' |
    while read -r x; do
      case $x in @*) expand_group "$x" ;; *) echo "$x" ;; esac
    done
}
: >"$WORK/syscalls.allow"
while read -r line; do
  deny=no
  case $line in "~"*) deny=yes line=${line#\~} ;; esac
  for item in $line; do
    case $item in @*) expand_group "$item" ;; *) echo "$item" ;; esac
  done | sort -u >"$WORK/syscalls.item"
  if [ $deny = yes ]; then
    comm -23 "$WORK/syscalls.allow" "$WORK/syscalls.item" >"$WORK/syscalls.tmp"
  else
    sort -u "$WORK/syscalls.allow" "$WORK/syscalls.item" >"$WORK/syscalls.tmp"
  fi
  mv "$WORK/syscalls.tmp" "$WORK/syscalls.allow"
done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
UNISTD=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
[ -f "$UNISTD" ] || fail "no $UNISTD (linux-libc-dev)"
while read -r name; do
  sed -n "s/^#define __NR_$name \([0-9]*\)\$/\1/p" "$UNISTD"
done <"$WORK/syscalls.allow" >"$WORK/syscalls.nr"
grep -qx 105 "$WORK/syscalls.nr" && fail "setuid (105) must not be allowed by the unit's filter"
grep -qx 59 "$WORK/syscalls.nr" || fail "execve (59) must be allowed by the unit's filter"
log "unit syscall filter: $(wc -l <"$WORK/syscalls.nr") syscalls allowed on x86-64"
# systemd would make /run/vodd (RuntimeDirectory=); without it, do it here.
install -d -m 0750 -o vodd -g vodd /run/vodd
# A free port (the default 8080 may be taken on a shared machine); the daemon
# prints the one it got. Also exercises conf.d.
printf '[server]\nlisten = 127.0.0.1:0\n[pipeline]\nworkers = 1\nladder = 240:400\n' \
  >/etc/vodd/conf.d/90-packaging-test.conf
PORT=""
# The unit's Environment= lines, as systemd would pass them.
mapfile -t UNIT_ENV < <(sed -n 's/^Environment=//p' "$UNIT")
[ ${#UNIT_ENV[@]} -gt 0 ] || fail "unit has no Environment= lines"
# The command prefix that runs something as vodd the way the unit would.
AS_VODD=(setpriv --reuid=vodd --regid=vodd --init-groups --no-new-privs
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/vodd USER=vodd
  LOGNAME=vodd "${UNIT_ENV[@]}" "$WORK/mdwe_exec" --syscalls "$WORK/syscalls.nr")
as_vodd() { (cd /var/lib/vodd && exec "${AS_VODD[@]}" "$@"); }

start_daemon() {
  # exec all the way down, so $! is vodd's own pid.
  : >"$WORK/daemon.log"
  (cd /var/lib/vodd &&
    exec "${AS_VODD[@]}" /usr/bin/vodd serve --config /etc/vodd/vodd.conf) \
    >>"$WORK/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.*serving http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/daemon.log" | tail -1)
    if [ -n "$PORT" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$WORK/daemon.log"
  fail "packaged daemon did not answer /healthz on port $PORT"
}
stop_daemon() {
  kill -TERM "$DAEMON_PID"
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=""
  [ $rc -eq 0 ] || { cat "$WORK/daemon.log"; fail "daemon exited $rc on SIGTERM"; }
}

start_daemon
log "packaged daemon runs as vodd on 127.0.0.1:$PORT (unit env, MDWE and syscall filters)"
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt" || fail "/metrics"
grep -q '^vodd_build_info' "$WORK/metrics.txt" || fail "/metrics has no vodd_build_info"
CATALOG=/var/lib/vodd/db/catalog.db
[ "$(stat -c %U "$CATALOG")" = vodd ] || fail "catalog not owned by vodd"
[ -z "$(find /var/lib/vodd /var/cache/vodd ! -user vodd -print -quit)" ] ||
  fail "files not owned by vodd under /var/lib/vodd or /var/cache/vodd"

# ORC under the MemoryDenyWriteExecute filter with the unit's environment:
# videoconvert/videoscale JIT through a dual mapping in XDG_RUNTIME_DIR.
ORC_PIPE="videotestsrc num-buffers=10 ! video/x-raw,format=RGB,width=320,height=180
  ! videoconvert ! videoscale ! video/x-raw,format=I420,width=160,height=90 ! fakesink"
# shellcheck disable=SC2086
as_vodd gst-launch-1.0 -q $ORC_PIPE >"$WORK/orc.log" 2>&1 ||
  { cat "$WORK/orc.log"; fail "ORC pipeline under MDWE with the unit environment"; }
# Control: with no usable folder for the dual mapping ORC must abort, which
# shows the filter is active and the environment is what makes it work.
set +e
# shellcheck disable=SC2086
unshare -m sh -c 'mount -t tmpfs -o noexec tmpfs /tmp && mount -t tmpfs -o noexec tmpfs /run/vodd &&
  exec env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR=/run/vodd "$0" "$@"' \
  "$WORK/mdwe_exec" gst-launch-1.0 -q $ORC_PIPE >"$WORK/orc-control.log" 2>&1
control_rc=$?
set -e
[ $control_rc -eq 134 ] || { cat "$WORK/orc-control.log"; fail "ORC control: want abort (134), got $control_rc"; }
log "ORC: JIT works under MDWE with the unit env; aborts without a usable folder (control)"

# A real upload, transcoded by a `vodd worker` child of the packaged daemon
# under the same sandbox, then played from the origin.
gst-launch-1.0 -q videotestsrc num-buffers=60 \
  ! video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! mp4mux name=m \
  ! filesink location="$WORK/in.mp4" audiotestsrc num-buffers=90 ! audioconvert \
  ! voaacenc ! m. || fail "could not make the test input"
chmod 0644 "$WORK/in.mp4"
TOKEN=$(as_vodd /usr/bin/vodd token create --config /etc/vodd/vodd.conf --name packaging-test |
  grep -o 'vodd_[A-Za-z0-9_-]*' | head -1)
[ -n "$TOKEN" ] || fail "vodd token create"
as_vodd /usr/bin/vodd upload -q --server "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --state-file /var/lib/vodd/tmp/packaging-upload.json "$WORK/in.mp4" >"$WORK/upload.log" 2>&1 ||
  { cat "$WORK/upload.log"; fail "vodd upload"; }
VID=""
for _ in $(seq 120); do
  as_vodd /usr/bin/vodd videos --config /etc/vodd/vodd.conf >"$WORK/videos.txt" 2>&1 || true
  VID=$(awk '$2 == "ready" {print $1; exit}' "$WORK/videos.txt")
  [ -n "$VID" ] && break
  if awk 'NR > 1 && $2 ~ /fail|dead/' "$WORK/videos.txt" | grep -q .; then
    cat "$WORK/videos.txt" "$WORK/daemon.log"
    fail "transcode failed under the sandbox"
  fi
  sleep 1
done
[ -n "$VID" ] || { cat "$WORK/videos.txt" "$WORK/daemon.log"; fail "upload not transcoded within 120 s"; }
curl -fsS "http://127.0.0.1:$PORT/v/$VID/master.m3u8" >"$WORK/master.m3u8" || fail "origin master.m3u8"
grep -q '^#EXTM3U' "$WORK/master.m3u8" || fail "master.m3u8 is not a playlist"
log "upload transcoded by a vodd worker under the sandbox: video $VID ready and served"

# vodd backup while the daemon runs, as root (drops to vodd).
MEDIA=/var/lib/vodd/media/0123456789abcdef0123456789abcdef/1
install -d -o vodd -g vodd -m 0750 /var/lib/vodd/media/0123456789abcdef0123456789abcdef "$MEDIA"
head -c 300000 /dev/urandom >"$MEDIA/seg-00001.m4s"
chown vodd:vodd "$MEDIA/seg-00001.m4s"
install -d -m 0755 "$WORK/backups"
/usr/bin/vodd backup --config /etc/vodd/vodd.conf "$WORK/backups/b1" >"$WORK/backup.log" 2>&1 ||
  { cat "$WORK/backup.log"; fail "vodd backup"; }
sed 's/^/  /' "$WORK/backup.log"
B="$WORK/backups/b1"
[ "$(sqlite3 "$B/db/catalog.db" 'PRAGMA integrity_check')" = ok ] || fail "backup catalog integrity"
src_ver=$(sqlite3 "file:$CATALOG?mode=ro" 'PRAGMA user_version')
[ "$(sqlite3 "$B/db/catalog.db" 'PRAGMA user_version')" = "$src_ver" ] || fail "backup schema version"
[ "$src_ver" -gt 0 ] || fail "catalog has no schema version"
cmp -s "$MEDIA/seg-00001.m4s" "$B/media/0123456789abcdef0123456789abcdef/1/seg-00001.m4s" ||
  fail "backup media differs"
if [ "$(stat -c %d "$MEDIA")" = "$(stat -c %d "$B")" ]; then
  [ "$(stat -c %i "$MEDIA/seg-00001.m4s")" = "$(stat -c %i "$B/media/0123456789abcdef0123456789abcdef/1/seg-00001.m4s")" ] ||
    fail "backup on the same file system did not hard-link media"
fi
grep -qx "schema_version = $src_ver" "$B/BACKUP" || fail "BACKUP manifest"
[ -f "$B/config/vodd.conf" ] || fail "backup lacks config/vodd.conf"
[ -f "$B/config/conf.d/90-packaging-test.conf" ] || fail "backup lacks config/conf.d"
[ "$(stat -c %U "$B")" = vodd ] || fail "backup not owned by vodd (privilege drop)"
[ -z "$(find /var/lib/vodd ! -user vodd -print -quit)" ] || fail "backup left root-owned files in /var/lib/vodd"
if /usr/bin/vodd backup --config /etc/vodd/vodd.conf "$B" >/dev/null 2>&1; then
  fail "backup into a non-empty folder must fail"
fi

log "stop, restore from the backup (docs/operations.md), start"
stop_daemon
grep -q 'stopped cleanly' "$WORK/daemon.log" || { cat "$WORK/daemon.log"; fail "no clean stop in the log"; }
rm -rf /var/lib/vodd/db /var/lib/vodd/media /var/lib/vodd/sources
install -d -o vodd -g vodd -m 0750 /var/lib/vodd/db
install -o vodd -g vodd -m 0640 "$B/db/catalog.db" /var/lib/vodd/db/catalog.db
cp -a "$B/media" "$B/sources" /var/lib/vodd/
chown -R vodd:vodd /var/lib/vodd
cmp -s "$MEDIA/seg-00001.m4s" "$B/media/0123456789abcdef0123456789abcdef/1/seg-00001.m4s" ||
  fail "restored media"
# (The daemon's garbage collection may now delete that test file: no catalog
# row refers to it.)
start_daemon
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz after restore"
curl -fsS "http://127.0.0.1:$PORT/v/$VID/master.m3u8" >"$WORK/master2.m3u8" ||
  fail "restored video not served"
cmp -s "$WORK/master.m3u8" "$WORK/master2.m3u8" || fail "restored playlist differs"
[ "$(sqlite3 "file:$CATALOG?mode=ro" 'PRAGMA user_version')" = "$src_ver" ] || fail "restored schema"
stop_daemon
rm -f /etc/vodd/conf.d/90-packaging-test.conf

# --- 4. remove, purge -----------------------------------------------------------
log "dpkg --remove"
dpkg --remove vodd >"$WORK/dpkg-r.log" 2>&1 || { cat "$WORK/dpkg-r.log"; fail "dpkg --remove"; }
[ ! -e /usr/bin/vodd ] || fail "/usr/bin/vodd left after remove"
[ ! -e "$UNIT" ] || fail "unit left after remove"
[ -f /etc/vodd/vodd.conf ] || fail "remove must keep the conffile"
[ -f "$CATALOG" ] || fail "remove must keep the data"
log "dpkg --purge"
dpkg --purge vodd >"$WORK/dpkg-p.log" 2>&1 || { cat "$WORK/dpkg-p.log"; fail "dpkg --purge"; }
for p in /etc/vodd /var/lib/vodd /var/cache/vodd /var/log/vodd \
  /usr/share/doc/vodd /usr/share/man/man1/vodd.1.gz \
  /usr/lib/sysusers.d/vodd.conf /usr/lib/tmpfiles.d/vodd.conf; do
  [ ! -e "$p" ] || fail "$p left after purge"
done
left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
  /var/lib/systemd/deb-systemd-helper-masked -name 'vodd*' 2>/dev/null || true)
[ -z "$left" ] || fail "systemd state left after purge: $left"
if dpkg-query -W -f='${Status}' vodd 2>/dev/null | grep -Eq 'ok installed|config-files'; then
  fail "dpkg still lists vodd after purge"
fi
# Policy: like Debian's own packages, purge keeps the vodd system user.
getent passwd vodd >/dev/null || fail "purge removed the vodd user (policy: keep)"
log "purged; only the vodd system user remains (Debian policy; the trap deletes it)"

# --- 5. the rpm ---------------------------------------------------------------
log "cpack -G RPM"
cpack -G RPM -B "$WORK/rpm" --config "$BUILD/CPackConfig.cmake" \
  >"$WORK/cpack-rpm.log" 2>&1 || { cat "$WORK/cpack-rpm.log"; fail "cpack RPM"; }
RPM=$(ls "$WORK"/rpm/vodd-*.rpm)
log "built $(basename "$RPM")"
rpm -qlp "$RPM" 2>/dev/null | sort >"$WORK/rpm.list"
sort >"$WORK/rpm.want" <<EOF
/etc/vodd
/etc/vodd/conf.d
/etc/vodd/vodd.conf
$(dirname "$UNIT")/vodd.service
/usr/bin/vodd
/usr/lib/sysusers.d/vodd.conf
/usr/lib/tmpfiles.d/vodd.conf
/usr/share/doc/vodd
/usr/share/doc/vodd/changelog.gz
/usr/share/doc/vodd/copyright
/usr/share/doc/vodd/examples
$(grep '^/usr/share/doc/vodd/examples/nginx-.*\.conf$' "$WORK/deb.list")
/usr/share/man/man1/vodd.1.gz
EOF
diff -u "$WORK/rpm.want" "$WORK/rpm.list" || fail "rpm file list"
[ "$(rpm -qp --configfiles "$RPM" 2>/dev/null)" = /etc/vodd/vodd.conf ] || fail "rpm configfiles"
flags=$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$RPM" 2>/dev/null |
  awk '$1=="/etc/vodd/vodd.conf"{print $2}')
[ "$flags" = cn ] || fail "vodd.conf flags '$flags', want cn (%config(noreplace))"
rpm -qp --scripts "$RPM" 2>/dev/null >"$WORK/rpm.scripts"
for want in '^postinstall scriptlet' '^preuninstall scriptlet' \
  '^postuninstall scriptlet' 'systemd-sysusers' 'enable vodd.service' \
  'disable --now vodd.service' 'try-restart vodd.service'; do
  grep -q -- "$want" "$WORK/rpm.scripts" || { cat "$WORK/rpm.scripts"; fail "rpm scriptlets lack '$want'"; }
done
rpm -qp --requires "$RPM" 2>/dev/null | grep -q '^gstreamer1-plugins-good' || fail "rpm Requires"
if rpm -qp --qf '%{DESCRIPTION}' "$RPM" 2>/dev/null | grep -q 'CPack'; then
  fail "rpm has CPack's placeholder description"
fi

# --- nginx example --------------------------------------------------------------
# The front-door example must pass `nginx -t` inside an http {} block (with a
# throwaway certificate in place of the operator's).
{
  N="$WORK/nginx"
  mkdir -p "$N"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$N/key.pem" -out "$N/cert.pem" \
    -days 1 -subj /CN=vodd-test >/dev/null 2>&1 || fail "openssl self-signed cert"
  sed -e "s|/etc/ssl/certs/video.example.org.fullchain.pem|$N/cert.pem|" \
    -e "s|/etc/ssl/private/video.example.org.key|$N/key.pem|" \
    -e "s|/var/log/nginx/|$N/|" "$SRC/packaging/nginx-vodd-site.conf" >"$N/site.conf"
  printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  include %s/site.conf;\n}\n' \
    "$N" "$N" "$N" >"$N/nginx.conf"
  nginx -t -q -c "$N/nginx.conf" -p "$N" || fail "nginx -t on packaging/nginx-vodd-site.conf"
  log "nginx -t: nginx-vodd-site.conf ok"
}

# --- 6. unit exposure -------------------------------------------------------------
systemd-analyze security --offline=yes "$SRC/packaging/vodd.service" \
  >"$WORK/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for vodd.service: \([0-9.]*\).*/\1/p' "$WORK/security.log")
[ -n "$score" ] || { cat "$WORK/security.log"; fail "no exposure score"; }
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN{exit !(s <= m)}' ||
  { grep '✗' "$WORK/security.log"; fail "exposure $score > $MAX_EXPOSURE"; }
log "systemd-analyze security: exposure $score (max $MAX_EXPOSURE)"
log "PASS"
