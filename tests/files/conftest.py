"""An SFTP server on loopback (asyncssh) with keys generated for the test: the receiving systems' end."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest_asyncio


@dataclass
class SftpServer:
    root: Path  # what the server shows as /
    port: int
    client_key: str  # path of the client's private key
    known_hosts: str  # path of a known_hosts file with the server's host key

    def url(self, directory: str = "/in") -> str:
        return f"sftp://ramflow@127.0.0.1:{self.port}{directory}"


@pytest_asyncio.fixture
async def sftp_server(tmp_path: Path):
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    root = tmp_path / "sftp-root"
    (root / "in").mkdir(parents=True)
    key_file, known_hosts = tmp_path / "id_ed25519", tmp_path / "known_hosts"
    client_key.write_private_key(str(key_file))
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())

    def sftp(channel):  # noqa: ANN001, ANN202
        return asyncssh.SFTPServer(channel, chroot=str(root).encode())

    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=authorized,
                                   sftp_factory=sftp, allow_scp=False, password_auth=False,
                                   kbdint_auth=False)
    port = server.sockets[0].getsockname()[1]
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    yield SftpServer(root, port, str(key_file), str(known_hosts))
    server.close()
    await server.wait_closed()
