"""Ramflow settings: every knob comes from an environment variable (pydantic-settings)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


DEVELOPMENT_SURVEY_LINK_SECRET = "change-me-survey-link-secret"  # production refuses it (check_api_production)


class Settings(BaseSettings):
    """Validated settings; the environment variable of each field is its name in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ramflow_env: Literal["development", "production"] = Field("development", description="development: the "
        "embedded stack and the tests (`make run`, local issuer); production (the image's default): the API refuses "
        "to start without an explicit https OIDC_ISSUER, API docs are off unless switched on, token subjects are "
        "never taken for employee numbers")
    temporal_address: str = Field("127.0.0.1:7233", description="host:port of the Temporal frontend")
    temporal_namespace: str = Field("default", description="Temporal namespace")
    temporal_task_queue: str = Field("ramflow", description="task queue the worker polls")
    database_url: str = Field("sqlite:///var/ramflow.db", description="SQLAlchemy URL (SQLite or postgresql+psycopg)")
    api_host: str = Field("127.0.0.1", description="address the HTTP API binds")
    api_port: int = Field(8000, ge=1, le=65535, description="port of the HTTP API")
    renewal_lead_days: int = Field(30, ge=0, le=365, description="rule EQ-5: order the replacement this many days early")
    buyout_answer_days: int = Field(14, ge=1, le=90, description="rule EQ-11: days the employee has to answer a buyout offer")
    timezone: str = Field("Europe/Stockholm", description="local time of the municipalities")
    intefunktion_warning_share: float = Field(0.75, gt=0, lt=1, description="rule TK-5: warn when this share of the fix time is used")
    on_call_minimum_minutes: int = Field(30, ge=0, le=480, description="rule TK-8: least chargeable on-call time")
    on_call_increment_minutes: int = Field(30, ge=1, le=240, description="rule TK-8: on-call time is charged in started increments")
    on_call_hourly_rate: Decimal = Field(Decimal("950.00"), ge=0, description="rule TK-8: price per on-call hour when the price list of the year (service_prices) has none")
    move_hourly_rate: Decimal = Field(Decimal("650.00"), ge=0, description="rule TK-12: price per hour of a physical move when the price list of the year has none")
    move_increment_minutes: int = Field(30, ge=1, le=240, description="rule TK-12: a move is charged in started increments")
    survey_share: float = Field(0.25, ge=0, le=1, description="rule TK-6: share of closed tickets that get the survey")
    extra_closed_days: list[date] = Field(default_factory=list, description="rule TK-1: extra days support is closed (JSON list)")
    agreement_reminder_weeks: int = Field(4, ge=1, le=52, description="rule AG-4: remind IT and the system owner every this many weeks until the revision meeting is recorded")
    agreement_revision_month: int = Field(9, ge=1, le=12, description="rule AG-4: month the yearly agreement revision round starts (schedule)")
    agreement_revision_day: int = Field(1, ge=1, le=28, description="rule AG-4: day of month the yearly agreement revision round starts")
    framework_revision_month: int = Field(2, ge=1, le=12, description="rule GV-1: month the yearly framework change proposal is opened (schedule)")
    framework_revision_day: int = Field(1, ge=1, le=28, description="rule GV-1: day of month the yearly framework proposal is opened")
    development_case_threshold: Decimal = Field(Decimal("100000.00"), ge=0, description="rule GV-3: estimated cost (SEK) from which it-styrgrupp prioritises a development case")
    import_renewals_per_day: int = Field(50, ge=1, le=10000, description="issue 22: imported devices already past "
                                         "their renewal date are due now, this many per day (the wave is spread, EQ-5)")
    import_strict_people: bool = Field(False, description="issue 22: an import row whose user is not in the people "
                                       "register is an error (default: a warning)")
    # --- the API's front door (issue 7): bounded waits and connection pools -------------------------------
    db_pool_size: int = Field(10, ge=1, le=200, description="API: database connections kept open")
    db_max_overflow: int = Field(30, ge=0, le=500, description="API: extra connections under load")
    db_pool_timeout_seconds: float = Field(5.0, gt=0, le=120, description="API: wait for a free connection, then 503")
    db_busy_timeout_seconds: float = Field(10.0, gt=0, le=120, description="SQLite: wait for a write lock, then fail")
    temporal_rpc_timeout_seconds: float = Field(5.0, gt=0, le=120, description="API: deadline of one Temporal call (start, describe)")
    update_wait_seconds: float = Field(10.0, gt=0, le=300, description="API: longest wait for an event (Update) to be applied, then 503")
    query_wait_seconds: float = Field(2.0, gt=0, le=60, description="API: longest wait for a live view (Query) before the database mirror answers")
    retry_after_seconds: int = Field(5, ge=1, le=3600, description="API: Retry-After of a 503 while Temporal, the worker or the database is away")
    max_body_bytes: int = Field(1_000_000, ge=1024, le=2_000_000, description="API: largest request body (413 above); below Temporal's 2 MB payload limit")
    payload_encryption_keys: SecretStr | None = Field(None, description="issue 11: AES-256-GCM keys of the payload codec, "
        "'keyid=base64(32 bytes),…'; the first encrypts, all decrypt (rotation). Unset: payloads are not encrypted")
    codec_cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"],
        description="issue 11: origins of the Temporal Web UI that may call POST /api/v1/codec/decode (JSON list)")
    # --- issue 20: anchors of the audit chains outside the database -----------------------------------------
    audit_anchor_key: SecretStr | None = Field(None, description="HMAC-SHA256 key signing the audit chains' "
        "checkpoints (docs/audit.md); held by the API and the worker, never by the database's owner. Unset: "
        "no checkpoints, and /audit/verify cannot see a truncated or rechained chain")
    audit_anchor_dir: str = Field("var/audit-anchors", description="the checkpoints' append-only store: a "
                                  "directory the database's owner cannot write (one JSON file per checkpoint)")
    audit_anchor_interval_minutes: int = Field(60, ge=1, le=1440, description="a checkpoint every this many "
                                               "minutes (Temporal Schedule); rows newer than the last are not anchored")
    schedules_enabled: bool = Field(True, description="create or update the yearly Temporal Schedules when the worker starts")
    # --- identity (OpenID Connect bearer tokens; Microsoft Entra ID in production) -------------------------
    oidc_issuer: str = Field("http://127.0.0.1:18900", description="the token issuer (`iss`); Entra ID: "
                             "https://login.microsoftonline.com/<tenant-id>/v2.0")
    oidc_audience: str = Field("api://ramflow", description="the API's audience (`aud`): on Entra ID (v2 tokens) "
                               "the Application (client) ID of the app registration")
    oidc_discovery_url: str | None = Field(None, description="default: <issuer>/.well-known/openid-configuration")
    oidc_jwks_url: str | None = Field(None, description="default: `jwks_uri` of the discovery document")
    oidc_jwks_refresh_seconds: int = Field(3600, ge=60, description="how long fetched signing keys are trusted; "
                                           "an unknown `kid` refreshes them sooner")
    oidc_unit_claim: str = Field("unit", description="claim naming a unit manager's unit (e.g. TR-KS)")
    oidc_team_claim: str = Field("team", description="claim naming an IT staff member's team")
    oidc_employee_claim: str = Field("employee_id", description="claim with the employee number; without it the "
                                     "people register's link of the subject decides (issue 20)")
    oidc_subject_is_employee_ref: bool | None = Field(None, description="a subject no one is linked to is taken for "
        "an employee number (the local issuer's users are E1001, …); default: in development only")
    rate_limit_per_minute: int = Field(600, ge=1, description="requests per identity (or per address without a "
                                       "token) per minute, counted across every API process in the database; "
                                       "more answer 429")
    trusted_proxies: list[str] = Field(default_factory=list, description="issue 20: addresses or networks of the "
        "reverse proxies whose X-Forwarded-For is believed (JSON list, e.g. [\"10.0.0.0/8\"]); empty: the TCP "
        "peer is the caller (run uvicorn with --no-proxy-headers)")
    # --- the web console (issue 14): authorization-code flow with PKCE against the same issuer -------------
    console_client_id: str = Field("ramflow-console", description="console: OAuth client id (Entra ID: the "
                                   "console's app registration)")
    console_client_secret: str | None = Field(None, description="console: client secret of a confidential client "
                                              "(Entra ID web app); none for the local issuer")
    console_scope: str = Field("openid", description="console: scopes asked for (Entra ID: 'openid "
                               "api://ramflow/.default')")
    console_cookie_secure: bool = Field(True, description="console: session cookie only over HTTPS (switch off "
                                        "for http://127.0.0.1 on the embedded stack)")
    console_session_hours: float = Field(8.0, gt=0, le=24, description="console: a session lasts this long")
    api_docs_enabled: bool = Field(True, description="serve /docs, /redoc and /openapi.json (default: in development "
                                   "only)")
    # --- operations (issue 13): metrics, logs, traces ---------------------------------------------
    metrics_token: SecretStr | None = Field(None, description="issue 20: the bearer token Prometheus sends to "
        "the API's /metrics; unset: /metrics answers loopback callers only")
    metrics_cache_seconds: float = Field(5.0, ge=0, le=300, description="issue 20: /metrics is computed at most "
                                         "this often, however many scrape at once")
    console_login_per_minute: int = Field(20, ge=1, description="issue 20: console sign-ins begun per address a "
                                          "minute (across API processes); more answer 429")
    console_pending_logins_max: int = Field(1000, ge=10, description="issue 20: most sign-ins waiting for the "
                                            "issuer at once; the oldest go first (they also expire in 10 minutes)")
    worker_metrics_host: str = Field("127.0.0.1", description="address the worker's Prometheus /metrics binds (Temporal SDK runtime)")
    worker_metrics_port: int = Field(9464, ge=0, le=65535, description="port of the worker's /metrics; 0 turns it off")
    log_format: Literal["text", "json"] = Field("text", description="text: readable lines (embedded stack); json: one JSON event per line (production)")
    log_level: str = Field("INFO", description="level of Ramflow's own loggers")
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); unset: traces are not exported")

    # --- mail (issue 21): delivery of the outbox, the survey link, the operational-message feed ------------
    mail_transport: Literal["off", "smtp", "graph"] = Field("off", description="off: messages stay pending "
        "(visible, the backlog alert fires); smtp: SMTP submission (Exchange Online: 587 + STARTTLS + XOAUTH2; "
        "`make run`: the development server on 127.0.0.1:1025); graph: Microsoft Graph sendMail (docs/mail.md)")
    mail_from: str = Field("ramflow@it.tranemo-ulricehamn.example", description="sender address (From)")
    mail_from_name: str = Field("IT-enheten Tranemo och Ulricehamn", description="sender display name")
    mail_domain: str = Field("it.tranemo-ulricehamn.example", description="right-hand side of Message-IDs: "
                             "<outbox-KEY@ramflow.DOMAIN>")
    mail_smtp_host: str = Field("127.0.0.1", description="SMTP submission host (Exchange Online: smtp.office365.com)")
    mail_smtp_port: int = Field(1025, ge=1, le=65535, description="SMTP port (Exchange Online: 587)")
    mail_smtp_starttls: bool = Field(False, description="upgrade with STARTTLS (required by Exchange Online)")
    mail_smtp_tls_ca_file: str | None = Field(None, description="CA bundle to verify the SMTP server (default: system)")
    mail_smtp_auth: Literal["none", "xoauth2", "login"] = Field("none", description="xoauth2: client-credentials "
        "token (Exchange Online); login: user + password (other servers)")
    mail_smtp_user: str | None = Field(None, description="SMTP user: the sending mailbox (XOAUTH2) or login")
    mail_smtp_password: SecretStr | None = Field(None, description="SMTP password (auth=login only)")
    mail_smtp_timeout_seconds: float = Field(30.0, gt=0, le=300, description="SMTP connect and command timeout")
    mail_tenant_id: str | None = Field(None, description="Entra ID tenant of the mail app registration")
    mail_client_id: str | None = Field(None, description="the mail app registration's Application (client) ID")
    mail_client_secret: SecretStr | None = Field(None, description="its client secret (or use a certificate in msal)")
    mail_authority_host: str = Field("https://login.microsoftonline.com", description="Entra ID authority host")
    mail_graph_url: str = Field("https://graph.microsoft.com/v1.0", description="Microsoft Graph base URL")
    mail_graph_sender: str | None = Field(None, description="graph: the mailbox (user id or UPN) that sends; "
                                          "default: mail_from")
    mail_max_attempts: int = Field(12, ge=1, le=100, description="attempts of one message before it is failed "
                                   "(backoff 10 s doubling to 30 min: about four hours)")
    mail_queue_addresses: dict[str, str] = Field(default_factory=lambda: {
        "lead:first_line": "forsta-linjen@it.tranemo-ulricehamn.example",
        "lead:second_line": "andra-linjen@it.tranemo-ulricehamn.example",
        "lead:verksamhetsstod": "verksamhetsstod@it.tranemo-ulricehamn.example",
        "lead:infrastruktur": "infrastruktur@it.tranemo-ulricehamn.example",
        "lead:it": "it-chef@it.tranemo-ulricehamn.example",
        "it:asset-management": "inventarier@it.tranemo-ulricehamn.example",
        "it:agreements": "avtal@it.tranemo-ulricehamn.example",
        "it:infrastruktur": "infrastruktur@it.tranemo-ulricehamn.example",
        "it:beredskap": "beredskap@it.tranemo-ulricehamn.example",
        "it:service-definitions": "tjanster@it.tranemo-ulricehamn.example",
        "it:all": "alla@it.tranemo-ulricehamn.example",
        "group:tjanstefieringsgruppen": "tjanstefiering@it.tranemo-ulricehamn.example",
        "group:it-forum-utveckling": "it-forum@it.tranemo-ulricehamn.example",
        "group:it-styrgrupp": "it-styrgrupp@it.tranemo-ulricehamn.example",
        "role:it-strateg": "it-strateg@it.tranemo-ulricehamn.example",
        "intranet:tranemo": "intranat@tranemo.example",
        "intranet:ulricehamn": "intranat@ulricehamn.example",
        "economy:tranemo": "ekonomi@tranemo.example",
        "economy:ulricehamn": "ekonomi@ulricehamn.example",
        "board:kommunstyrelsen-tranemo": "kommunstyrelsen@tranemo.example",
        "board:kommunstyrelsen-ulricehamn": "kommunstyrelsen@ulricehamn.example",
        "board:samverkansnamnd-it": "samverkansnamnd-it@tranemo.example",
    }, description="addresses of IT's queues, groups and the intranets' editors by outbox recipient (JSON object)")
    mail_support_address: str = Field("support@it.tranemo-ulricehamn.example", description="the support mailbox "
                                      "(mail to it becomes a ticket; the development server delivers it to "
                                      "mail_support_maildir)")
    mail_support_maildir: str = Field("var/mail/support", description="the development server's Maildir of the "
                                      "support mailbox (cur/new/tmp), read by the inbound half")
    mail_dev_catch_dir: str | None = Field(None, description="development only: the folder where the development "
                                           "mail server keeps every caught mail (.eml); set, the console lists it")
    public_base_url: str = Field("http://127.0.0.1:8000", description="base URL of links in mail (console, survey)")
    survey_link_secret: SecretStr = Field(SecretStr(DEVELOPMENT_SURVEY_LINK_SECRET), description="rule TK-6: key "
                                          "that signs the survey links (set your own in production)")
    survey_link_days: int = Field(14, ge=1, le=90, description="rule TK-6: a survey link is valid this many days")

    @model_validator(mode="after")
    def _production_defaults(self) -> "Settings":
        """Production switches off what only the embedded stack needs, unless it is asked for explicitly."""
        if self.ramflow_env == "production" and "api_docs_enabled" not in self.model_fields_set:
            self.api_docs_enabled = False
        return self

    @property
    def subject_is_employee_ref(self) -> bool:
        explicit = self.oidc_subject_is_employee_ref
        return self.ramflow_env == "development" if explicit is None else explicit

    def check_api_production(self) -> None:
        """The API refuses to start in production without an explicit https issuer (no local-issuer default)."""
        if self.ramflow_env != "production":
            return
        if "oidc_issuer" not in self.model_fields_set or not self.oidc_issuer.startswith("https://"):
            raise ValueError("RAMFLOW_ENV=production needs OIDC_ISSUER set to the https issuer (Entra ID: "
                             "https://login.microsoftonline.com/<tenant-id>/v2.0)")
        if self.survey_link_secret.get_secret_value() == DEVELOPMENT_SURVEY_LINK_SECRET:
            # rule TK-6: a known key would let anyone forge a survey link and answer for the reporter
            raise ValueError("RAMFLOW_ENV=production needs SURVEY_LINK_SECRET (the survey links' signing key)")

    # --- the support mailbox (issue 21, In): mail to support becomes a ticket (docs/mail.md) -------------------
    mail_in_source: Literal["off", "maildir", "imap"] = Field("off", description="where support mail is read: a "
        "Maildir (development, fed by the local SMTP server; `make run` sets it) or IMAP (production: Exchange "
        "Online, XOAUTH2); off: no poll schedule")
    mail_imap_host: str = Field("outlook.office365.com", description="IMAP server of the shared support mailbox")
    mail_imap_port: int = Field(993, ge=1, le=65535, description="IMAP port (993: TLS)")
    mail_imap_user: str | None = Field(None, description="the shared mailbox (XOAUTH2 user); default: "
                                       "mail_support_address. The token: mail_tenant_id/mail_client_id/"
                                       "mail_client_secret, an app with IMAP.AccessAsApp (docs/mail.md)")
    mail_processed_folder: str = Field("Ramflow/Behandlat", description="IMAP/Maildir folder processed mail moves to")
    mail_rejected_folder: str = Field("Ramflow/Avvisat", description="folder of mail kept aside or not answered")
    mail_poll_seconds: int = Field(60, ge=5, le=3600, description="how often the mailbox is read (Temporal Schedule)")
    mail_poll_batch: int = Field(1000, ge=1, le=100_000, description="at most this many mails per poll (the "
                                 "rest wait for the next), so one poll ends well within its activity timeout")
    mail_poll_concurrency: int = Field(8, ge=1, le=64, description="mails taken at once within one poll")
    mail_default_unit: str = Field("TR-IT", description="TK-2: the triage unit of a mailed ticket whose sender's "
                                   "unit is not known from the people register")
    mail_max_bytes: int = Field(25_000_000, ge=1024, description="a larger mail is kept aside, not made a ticket")
    mail_attachment_max_bytes: int = Field(10_000_000, ge=1024, description="largest attachment kept with a ticket")
    mail_attachment_types: list[str] = Field(default_factory=lambda: ["image/*", "application/pdf", "text/plain"],
        description="content types kept with a ticket (JSON list; `image/*` for every image); others: kept aside")
    mail_attachment_dir: str | None = Field(None, description="directory attachments are stored in (by SHA-256); "
                                            "unset: in the database")

    # --- files for the economy, payroll and ordering systems (issue 25; docs/payroll-ordering-files.md) -------
    file_delivery_targets: dict[str, str] = Field(default_factory=lambda: {
        "economy": "var/outgoing/economy", "payroll": "var/outgoing/payroll", "ordering": "var/outgoing/ordering"},
        description="where each receiving system takes its files (JSON object): a directory, or "
        "`sftp://user@host[:port]/directory` (key: file_delivery_ssh_key, host key: file_delivery_known_hosts)")
    file_delivery_ssh_key: str | None = Field(None, description="the SFTP client's private key file (OpenSSH format)")
    file_delivery_known_hosts: str | None = Field(None, description="known_hosts file with the SFTP servers' host "
                                                  "keys; an sftp:// target without it is refused (no blind trust)")
    file_delivery_max_attempts: int = Field(20, ge=1, le=1000, description="a delivery is retried with backoff "
                                            "(10 s doubling to 30 min) this many times, then marked failed")
    paxml_pay_types: dict[str, str] = Field(default_factory=dict, description="EQ-11: the payroll system's pay-type "
        "code (PAXml `lonart`) of a buyout's net salary deduction per municipality (JSON object, e.g. "
        "{\"tranemo\": \"7400\"}); a municipality without one: its PAXml export is refused")
    peppol_buyer_ids: dict[str, str] = Field(default_factory=dict, description="EQ-2: each municipality's Peppol "
        "participant id as buyer, `scheme:id` (JSON object, e.g. {\"tranemo\": \"0007:2120001553\"}); missing: "
        "the order is refused naming it")
    peppol_supplier_ids: dict[str, str] = Field(default_factory=dict, description="EQ-2: the supplier's Peppol "
        "participant id per agreement reference (JSON object, `scheme:id`); missing: the order is refused naming it")
    order_response_inbox: str = Field("var/incoming/ordering", description="directory the e-commerce system drops "
                                      "the suppliers' Order Responses in (read by POST /orders/responses/poll)")

    @field_validator("codec_cors_origins", "trusted_proxies", "mail_queue_addresses", "mail_attachment_types",
                     mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        """A JSON list also when given as a string (not only from the environment)."""
        import json

        return json.loads(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
