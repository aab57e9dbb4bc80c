# vodd %preun ($1: 0 = erase, 1 = upgrade): stop and disable on erase only.
if [ "$1" -eq 0 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now vodd.service >/dev/null 2>&1 || :
  else
    systemctl --no-reload disable vodd.service >/dev/null 2>&1 || :
  fi
fi
