# vodd %postun ($1: 0 = erased, 1 = upgraded): restart a running service on
# upgrade. Data in /var/lib/vodd is kept on erase (rpm has no purge).
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then
    systemctl try-restart vodd.service >/dev/null 2>&1 || :
  fi
fi
