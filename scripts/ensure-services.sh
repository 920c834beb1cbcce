#!/usr/bin/env bash
# Installs the real services the test-suite starts for itself (PostgreSQL, MariaDB, Chromium from
# Debian).
# The tests start their own throw-away server on a temp dir and loopback; nothing is started here.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "ensure-services: installing PostgreSQL from Debian packages"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
fi
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  # the MySQL-family Singer taps (tests/systems/singer_taps) read a throw-away MariaDB
  echo "ensure-services: installing MariaDB from Debian packages"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    mariadb-server >/dev/null
fi
if [ "$(id -u)" -eq 0 ] && ! id mysql >/dev/null 2>&1; then
  useradd --system --home /nonexistent --shell /bin/false mysql
fi
if [ ! -x /usr/bin/chromium ]; then  # browser tests drive Debian's Chromium (no download)
  echo "ensure-services: installing Chromium from Debian packages"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "ensure-services: $(/usr/bin/chromium --version 2>/dev/null || echo 'Chromium missing')"
echo "ensure-services: PostgreSQL $(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | sort -n | tail -1) available"
echo "ensure-services: $(/usr/sbin/mariadbd --version 2>/dev/null || echo 'MariaDB missing')"
