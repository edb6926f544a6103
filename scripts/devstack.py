"""`make run`: the embedded stack on one machine — Temporal dev server (unless TEMPORAL_ADDRESS is set),
the local OpenID Connect issuer (unless OIDC_ISSUER is set), the development mail server on 127.0.0.1:1025 (unless
MAIL_TRANSPORT is set), migrations and reference data on SQLite, the
worker and the API. A child that dies is logged and restarted with backoff (the others keep running);
Ctrl-C stops everything within seconds."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Issue 11: how long Temporal keeps a closed run (the dev server's default is 24 h). Deliberately short:
# Temporal is the engine, not the record. Every run is archived in Ramflow's database when it closes or
# continues as new (hash-chained, backed up with the register), so auditors do not depend on this; 30 days
# keep recent runs in the Web UI for operations and the monthly follow-up. Same value in docker-compose.yml.
NAMESPACE_RETENTION = "720h"
DEV_MAIL_HOST, DEV_MAIL_PORT = "127.0.0.1", 1025  # issue 21: the Mailpit/MailHog convention


# Issue 21: the console personas in the people register on the embedded stack, so their mail has an address
# (placeholders under the reserved .example domain; E5002 reads English). Added only to an empty register.
DEV_PEOPLE = [("E5001", None, "Eva Ek", "sv", "TR-KS"), ("E5002", None, "Erik Lund", "en", "TR-KS"),
              ("E2101", None, "Sara Berg", "sv", "UL-KS"), ("E1001", "E1001", "Karin Holm", "sv", "TR-KS"),
              ("E2001", "E2001", "Lars Nyström", "sv", "UL-KS"), ("IT-ANNA", "it.anna", "Anna IT", "sv", None),
              ("IT-IVAR", "it.ivar", "Ivar IT", "sv", None)]


def load_dev_people(sessions) -> bool:  # noqa: ANN001
    from datetime import datetime, timezone

    from sqlalchemy import select

    from db.people_models import Person

    with sessions.begin() as s:
        if s.scalar(select(Person.employee_ref).limit(1)) is not None:
            return False
        s.add_all(Person(employee_ref=ref, subject=sub, name=name, language=lang, unit_id=unit, active=True,
                         email=f"{ref.lower()}@{'ulricehamn' if (unit or '').startswith('UL') else 'tranemo'}.example",
                         updated_at=datetime.now(timezone.utc)) for ref, sub, name, lang, unit in DEV_PEOPLE)
    return True


def wait_for_port(host: str, port: int, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not open {host}:{port} within {seconds:.0f} s")


def metrics_summary(url: str, seconds: float = 20, token: str | None = None) -> str:
    """Fetch a /metrics page (issue 13) and say what it carries: the Ramflow gauges with their values; with
    `token`, as Prometheus does (METRICS_TOKEN, issue 20)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    end = time.monotonic() + seconds
    while True:
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
            text = urllib.request.urlopen(request, timeout=5).read().decode()
            break
        except OSError as error:
            if time.monotonic() > end:
                return f"{url}  (not answering: {error})"
            time.sleep(0.5)
    families = list(text_string_to_metric_families(text))
    lines = [f"{url}  ({len(families)} metric families, {sum(len(f.samples) for f in families)} series)"]
    for family in families:
        if family.type == "gauge" and family.name.startswith("ramflow_") and family.samples:
            shown = ", ".join(f"{','.join(s.labels.values()) or 'total'}={s.value:g}" for s in family.samples[:4])
            more = f", … {len(family.samples) - 4} more" if len(family.samples) > 4 else ""
            lines.append(f"    {family.name}: {shown}{more}")
    return "\n".join(lines)


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM/SIGHUP stop the stack as cleanly as Ctrl-C


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} devstack {message}", file=sys.stderr, flush=True)


class Child:
    """A supervised child: restarted when it dies, after a backoff that doubles while it keeps dying
    (1 s … 30 s) and starts over once it has stayed up for a minute."""

    STABLE_SECONDS, MAX_BACKOFF = 60.0, 30.0

    def __init__(self, name: str, start: Callable[[], subprocess.Popen]) -> None:
        self.name, self._start = name, start
        self.backoff = 1.0
        self.process = self._start()
        self.started = time.monotonic()
        self.restart_at: float | None = None

    def check(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                log(f"restarting {self.name}")
                self.process, self.started, self.restart_at = self._start(), now, None
            return
        code = self.process.poll()
        if code is None:
            return
        if now - self.started >= self.STABLE_SECONDS:
            self.backoff = 1.0
        log(f"{self.name} exited with code {code}; restarting in {self.backoff:.0f} s")
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, self.MAX_BACKOFF)

    def stop(self) -> None:
        self.restart_at = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait(self, seconds: float) -> None:
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within {seconds:.0f} s: killed")
            self.process.kill()
            self.process.wait()


# How to sign in to the console as each role on the embedded stack (the local issuer's login page buttons).
CONSOLE_LOGINS = """the login page lists one button per role:
                   it-staff (användarstöd)  it.anna        queue, tickets, devices, service requests
                   it-staff (infrastruktur) it.ivar        3rd line queue
                   it-admin                 it.admin       + approvals inbox
                   unit-manager TR-KS       E1001          own unit's devices, tickets, orders, accounts (TK-9)
                   employee                 E5001          own devices and buyout offer (EQ-11)
                   system-owner, it-forum, it-styrgrupp    approvals inbox
                   auditor                  revisor.rut    search and timelines
                 or type any user, roles, unit and team in its form"""


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    from config import get_settings
    from db.migrate import upgrade
    from db.seed import load_reference_data
    from db.session import make_sessionmaker

    settings = get_settings()
    children: list[Child] = []
    embedded = "TEMPORAL_ADDRESS" not in os.environ
    env = {**os.environ}
    if settings.payload_encryption_keys is None:  # issue 11: a key of this machine's own, kept in var/
        keys = ROOT / "var" / "payload-keys"
        if not keys.exists():
            from codec import new_key_spec

            keys.write_text(new_key_spec("dev1"))
            keys.chmod(0o600)
        env["PAYLOAD_ENCRYPTION_KEYS"] = keys.read_text().strip()
    if settings.audit_anchor_key is None:  # issue 20: the audit chains' checkpoints, signed with a key of var/
        anchor_key = ROOT / "var" / "audit-anchor-key"
        if not anchor_key.exists():
            import secrets

            anchor_key.write_text(secrets.token_urlsafe(32))
            anchor_key.chmod(0o600)
        env["AUDIT_ANCHOR_KEY"] = anchor_key.read_text().strip()
    # the console's session cookie is Secure in production; the embedded stack serves http://127.0.0.1
    env.setdefault("CONSOLE_COOKIE_SECURE", "false" if settings.api_host in ("127.0.0.1", "localhost") else "true")
    # issue 21: mail goes to the development mail server on 127.0.0.1:1025 unless a transport is configured
    dev_mail = "MAIL_TRANSPORT" not in os.environ
    if dev_mail:
        env.update(MAIL_TRANSPORT="smtp", MAIL_SMTP_HOST=DEV_MAIL_HOST, MAIL_SMTP_PORT=str(DEV_MAIL_PORT),
                   MAIL_SMTP_STARTTLS="false", MAIL_SMTP_AUTH="none")
        env.setdefault("MAIL_DEV_CATCH_DIR", "var/mail/outgoing")
    # issue 21 (in): the support Maildir the development server fills becomes tickets (polled every 5 s)
    env.setdefault("MAIL_IN_SOURCE", "maildir")
    env.setdefault("MAIL_POLL_SECONDS", "5")
    env.setdefault("PUBLIC_BASE_URL", f"http://{settings.api_host}:{settings.api_port}")
    # issue 25: placeholder codes and participant ids so the embedded stack can write PAXml and Peppol files
    # (production: the payroll office's pay-type codes and the real ids, docs/payroll-ordering-files.md)
    env.setdefault("PAXML_PAY_TYPES", json.dumps({"tranemo": "DEV-NETTOAVDRAG", "ulricehamn": "DEV-NETTOAVDRAG"}))
    env.setdefault("PEPPOL_BUYER_IDS", json.dumps({"tranemo": "0007:0000000001", "ulricehamn": "0007:0000000002"}))
    env.setdefault("PEPPOL_SUPPLIER_IDS", json.dumps({ref: "0007:0000000009" for ref in (
        "ADDA-KLIENT-2023", "ADDA-MOBIL-2024", "ADDA-NAT-2023", "ADDA-PRINT-2022")}))
    try:
        if embedded:
            host, port = settings.temporal_address.rsplit(":", 1)
            children.append(Child("temporal", lambda: subprocess.Popen([
                str(BIN / "temporal"), "server", "start-dev", "--db-filename", "var/temporal.db",
                "--ip", host, "--port", port, "--ui-port", "8233", "--namespace", settings.temporal_namespace,
                "--ui-codec-endpoint", f"http://{settings.api_host}:{settings.api_port}/api/v1/codec",
                "--log-level", "warn",
            ], stdout=open("var/temporal.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)))
            wait_for_port(host, int(port), 60, "the Temporal dev server")
            subprocess.run([str(BIN / "temporal"), "operator", "namespace", "update", "--namespace",
                            settings.temporal_namespace, "--retention", NAMESPACE_RETENTION,
                            "--address", settings.temporal_address], check=True, stdout=subprocess.DEVNULL)
            # the search attributes (issue 11) are registered by the worker when it starts: one place
        local_issuer = "OIDC_ISSUER" not in os.environ
        if local_issuer:  # a real issuer the API validates like Entra ID: discovery document, JWKS, signatures
            issuer = urlsplit(settings.oidc_issuer)
            children.append(Child("issuer", lambda: subprocess.Popen([
                sys.executable, "-m", "scripts.local_issuer", "--host", issuer.hostname or "127.0.0.1",
                "--port", str(issuer.port or 80), "--audience", settings.oidc_audience,
                "--key-file", "var/local-issuer-key.json",
            ], env=env, start_new_session=True)))
            wait_for_port(issuer.hostname or "127.0.0.1", issuer.port or 80, 30, "the local OpenID Connect issuer")
        if dev_mail:  # issue 21: catches every mail; support mail into the support Maildir
            children.append(Child("mail", lambda: subprocess.Popen([
                sys.executable, "-m", "mail.devserver", "--host", DEV_MAIL_HOST, "--port", str(DEV_MAIL_PORT),
            ], env=env, stdout=subprocess.DEVNULL, start_new_session=True)))
            wait_for_port(DEV_MAIL_HOST, DEV_MAIL_PORT, 30, "the development mail server")
        upgrade(settings.database_url)
        loaded = load_reference_data(make_sessionmaker(settings.database_url), date.today().year)
        load_dev_people(make_sessionmaker(settings.database_url))
        children.append(Child("worker", lambda: subprocess.Popen([sys.executable, "worker.py"], env=env,
                                                                 start_new_session=True)))
        children.append(Child("api", lambda: subprocess.Popen([
            sys.executable, "-m", "uvicorn", "api.main:app", "--host", settings.api_host,
            "--port", str(settings.api_port), "--log-level", "warning", "--timeout-keep-alive", "30",
            "--no-proxy-headers",  # issue 20: X-Forwarded-For only from TRUSTED_PROXIES (api.ratelimit)
        ], env=env, start_new_session=True)))
        wait_for_port(settings.api_host, settings.api_port, 60, "the API")
        base = f"http://{settings.api_host}:{settings.api_port}"
        worker_metrics = (f"http://{settings.worker_metrics_host}:{settings.worker_metrics_port}/metrics"
                          if settings.worker_metrics_port else None)
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        metrics = "\n  ".join([metrics_summary(f"{base}/metrics", token=token),
                               metrics_summary(worker_metrics) if worker_metrics else "worker metrics off"])
        print(f"""
Ramflow is up.
  API            {base}/api/v1   (OpenAPI: {base}/docs; liveness {base}/health, readiness {base}/ready)
  Temporal       {settings.temporal_address}  namespace {settings.temporal_namespace}, task queue {settings.temporal_task_queue}
  Temporal UI    {"http://127.0.0.1:8233" if embedded else "(external server)"}
  Database       {settings.database_url}{"  (reference data loaded)" if loaded else ""}
  Identity       {settings.oidc_issuer}{"  (local OpenID Connect issuer)" if local_issuer else ""}, audience {settings.oidc_audience}
                 every call needs a bearer token; roles in docs/security.md:
                   TOKEN=$(make -s token USER=it.anna ROLES=it-staff,it-admin TEAM=användarstöd)
                   curl -s -H "Authorization: Bearer $TOKEN" {base}/api/v1/devices
  Console        {base}/console/   (Swedish first; "In English" top right)
                 sign in at {settings.oidc_issuer if local_issuer else "the identity provider"}: {CONSOLE_LOGINS if local_issuer else "your own account"}
                 example data for it: {sys.executable} -m console.demo
  Mail           {f"SMTP {DEV_MAIL_HOST}:{DEV_MAIL_PORT} (development server, nothing leaves the machine): every mail is caught in {env['MAIL_DEV_CATCH_DIR']} and listed at {base}/console/dev/mail; mail to {settings.mail_support_address} goes to the Maildir {settings.mail_support_maildir}" if dev_mail else f"MAIL_TRANSPORT={os.environ['MAIL_TRANSPORT']} (docs/mail.md)"}
                 send a test mail to support: {sys.executable} -m mail.send_test
  Logs           var/temporal.log; worker and API print here (LOG_FORMAT=json for JSON events)
  Metrics        (Prometheus text format; ops/ has the dashboard and the alert rules)
  {metrics}
A child that dies is restarted with backoff. Ctrl-C stops everything.
""", flush=True)
        while True:
            for child in children:
                child.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
        return 0
    finally:
        for child in reversed(children):  # the API and the worker first, then the server they talk to
            child.stop()
        stopped_by = time.monotonic() + 10  # one deadline for all of them: Ctrl-C never waits 8 s per child
        for child in reversed(children):
            child.wait(max(0.5, stopped_by - time.monotonic()))


if __name__ == "__main__":
    sys.exit(main())
