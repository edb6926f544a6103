#!/usr/bin/env bash
# What `make test` needs beyond the venv, installed where this machine allows it (root, or sudo without a
# password, and apt-get): Debian's promtool (the alert rules), chromium (the console's browser tests) and
# dovecot (the support mailbox's IMAP tests). PostgreSQL is started if it stopped. Nothing here fails the run:
# a tool that could not be had makes its tests skip, and `make test` ends by naming each skipped test and why.
set -uo pipefail

if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 \
    || echo "test prerequisites: PostgreSQL at 127.0.0.1:5432 could not be started" >&2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; } || missing+=(dovecot-imapd)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$SUDO" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test prerequisites: cannot install ${missing[*]} here (no root or apt-get): their tests will skip" >&2
  else
    echo "test prerequisites: installing ${missing[*]} from Debian" >&2
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >/tmp/ramflow-apt.log 2>&1 \
      || echo "test prerequisites: apt-get could not install ${missing[*]} (see /tmp/ramflow-apt.log): their tests will skip" >&2
    # the dovecot package starts a system service on ports 143/993 that the tests do not use: stop it
    if [ -x /usr/sbin/dovecot ] && pgrep -x dovecot >/dev/null 2>&1; then
      $SUDO /usr/sbin/dovecot stop >/dev/null 2>&1 || true
    fi
  fi
fi
exit 0
