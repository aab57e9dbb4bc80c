# vodd %post ($1: 1 = first install, 2 = upgrade). rpm has no purge: erasing
# the package keeps /var/lib/vodd (see docs/operations.md).
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/vodd.conf || :
elif ! getent passwd vodd >/dev/null; then
  useradd -r -U -d /var/lib/vodd -M -s /sbin/nologin -c "vodd video server" vodd || :
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/vodd.conf || :
fi
if [ "$1" -eq 1 ]; then
  systemctl --no-reload enable vodd.service >/dev/null 2>&1 || :
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    systemctl start vodd.service >/dev/null 2>&1 || :
  fi
fi
