"""A private Dovecot IMAP server on loopback for the mail tests (Debian package `dovecot-imapd`): its own
configuration, a static user, mail in a temporary directory, a free port. Skipped with the reason when the
binary is missing (tests/mail_in/conftest.py); the benchmark uses it too."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "support", "secret"


class DovecotMissing(RuntimeError):
    """The binary is not installed (the tests skip, the benchmark leaves IMAP out)."""


@dataclass(frozen=True)
class Dovecot:
    port: int
    root: Path

    def mailbox(self):  # noqa: ANN201
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port).login(USER, PASSWORD)


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:  # as root: Dovecot's own unprivileged users from the package
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:  # an ordinary user runs the whole server as themself
        internal = login = mail_user = pwd.getpwuid(os.getuid()).pw_name
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={pwd.getpwnam(mail_user).pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_dovecot(root: Path) -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        raise DovecotMissing("dovecot not installed: apt-get install -y dovecot-imapd (Debian) runs the IMAP tests")
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    if os.geteuid() == 0:
        shutil.chown(root, "dovecot")
        for parent in root.parents:  # the mail user walks down to its Maildir
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
    process = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"dovecot did not start: {output}")
                time.sleep(0.05)
        yield Dovecot(port, root)
    finally:
        process.terminate()
        process.wait(10)
