"""Static checks of the container topology (docker-compose.yml and Dockerfile).

Nothing here needs Docker: the files are parsed and compared with config.Settings.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `config` lives at the repo root
    sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
RAMFLOW_SERVICES = ("api", "worker")
REQUIRED_SETTINGS = {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "DATABASE_URL"}
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...] form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def _interpolate(value: str) -> str:
    """Resolve compose ${...} references the way `docker compose config` would, with a dummy secret."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if op in (":-", "-"):
            return arg
        return f"dummy-{name.lower()}"

    return _INTERPOLATION.sub(replace, value.replace("$$", "$"))


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _setting_names() -> set[str]:
    return {name.upper() for name in config.Settings.model_fields}


def _looks_like_ramflow_setting(key: str) -> bool:
    # Interpreter knobs (PYTHONUNBUFFERED, ...) are not Ramflow settings; everything else is.
    return not key.startswith("PYTHON")


def test_compose_defines_every_service(services: dict) -> None:
    assert {"postgresql", "temporal", "temporal-ui", "api", "worker", "migrate"} <= set(services)


def test_compose_pins_every_image(services: dict) -> None:
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name} has neither image nor build"
            continue
        reference = image.split("@", 1)[0]
        last = reference.rsplit("/", 1)[-1]
        assert ":" in last or "@" in image, f"{name}: image {image!r} has no version tag"
        tag = last.rsplit(":", 1)[-1] if ":" in last else ""
        assert tag and tag != "latest", f"{name}: image {image!r} must be pinned, not latest"
        assert "$" not in tag, f"{name}: image {image!r} tag must not depend on the environment"


def test_temporal_uses_postgresql_with_explicit_shards(services: dict) -> None:
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    env = _environment(temporal)
    shards = env.get("NUM_HISTORY_SHARDS", "")
    assert shards.isdigit() and int(shards) > 0, "NUM_HISTORY_SHARDS must be set explicitly"
    assert env.get("DB") == "postgres12"
    assert env.get("POSTGRES_SEEDS") == "postgresql"
    assert env.get("DB_PORT") == "5432"
    assert env.get("POSTGRES_USER") and env.get("POSTGRES_PWD")
    depends = temporal.get("depends_on") or {}
    assert "postgresql" in depends
    if isinstance(depends, dict):
        assert depends["postgresql"].get("condition") == "service_healthy"


def test_postgresql_has_healthcheck_and_app_database(services: dict) -> None:
    pg = services["postgresql"]
    assert pg["image"].startswith("postgres:")
    assert "pg_isready" in str(pg["healthcheck"]["test"])
    assert "POSTGRES_PASSWORD" in _environment(pg)
    mounts = [str(v) for v in pg.get("volumes", [])]
    init = [m for m in mounts if "/docker-entrypoint-initdb.d" in m]
    assert init, "the ramflow database is created by an init script"
    host_dir = ROOT / init[0].split(":", 1)[0]
    sql = "\n".join(p.read_text(encoding="utf-8") for p in sorted(host_dir.glob("*.s[qh]*")))
    assert re.search(r"CREATE\s+DATABASE\s+ramflow\b", sql, re.IGNORECASE)


def test_worker_is_scalable(services: dict) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports"), "a published port would clash with --scale worker=N"
    assert any("worker.py" in part for part in _command(worker))


def test_ramflow_services_only_get_known_settings(services: dict) -> None:
    known = _setting_names()
    for name in RAMFLOW_SERVICES + ("migrate",):
        env = _environment(services[name])
        unknown = {key for key in env if _looks_like_ramflow_setting(key)} - known
        assert not unknown, f"{name}: {sorted(unknown)} are not fields of config.Settings"
    for name in RAMFLOW_SERVICES:
        missing = REQUIRED_SETTINGS - set(_environment(services[name]))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_ramflow_services_get_a_valid_postgresql_url(services: dict) -> None:
    urls = set()
    for name in RAMFLOW_SERVICES + ("migrate",):
        raw = _environment(services[name])["DATABASE_URL"]
        url = _interpolate(raw)
        settings = config.Settings(database_url=url)
        assert settings.database_url.startswith("postgresql")
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert parsed.host == "postgresql", "DATABASE_URL must point at the compose postgresql service"
        assert parsed.database == "ramflow"
        urls.add((parsed.host, parsed.port, parsed.database))
    assert len(urls) == 1, "api, worker and migrate must share one database"


def test_ramflow_settings_in_compose_validate(services: dict) -> None:
    for name in RAMFLOW_SERVICES:
        env = _environment(services[name])
        values = {key.lower(): _interpolate(value) for key, value in env.items() if key in _setting_names()}
        settings = config.Settings(**values)
        assert settings.temporal_address == "temporal:7233"


def test_api_port_mapping_matches_api_port(services: dict) -> None:
    api = services["api"]
    env = _environment(api)
    port = config.Settings(api_port=env["API_PORT"]).api_port
    container_ports = set()
    for mapping in api.get("ports", []):
        if isinstance(mapping, dict):
            container_ports.add(int(mapping["target"]))
        else:
            container_ports.add(int(str(mapping).split("/", 1)[0].rsplit(":", 1)[-1]))
    assert port in container_ports
    command = _command(api)
    if "--port" in command:
        assert int(command[command.index("--port") + 1]) == port


def test_migrate_runs_alembic_before_the_services(services: dict) -> None:
    migrate = services["migrate"]
    assert "build" in migrate
    command = " ".join(_command(migrate))
    # every head: the tickets' branch (0002) and the main line (… 0009) (db.migrate.upgrade does the same)
    assert "alembic" in command and "db/alembic.ini" in command and command.endswith("upgrade heads")
    for name in RAMFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert "temporal" in depends
        assert "build" in services[name]


def test_dockerfile_is_pinned_and_runs_unprivileged() -> None:
    assert DOCKERFILE.is_file()
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms, "Dockerfile has no FROM"
    for image in froms:
        assert ":" in image and not image.endswith(":latest"), f"FROM {image} is not pinned"
        assert re.search(r":\d+\.\d+\.\d+", image), f"FROM {image} should pin a patch version"
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert any(line.startswith("CMD") and "api.main:app" in line for line in lines)


# --- issue 8: only the API is reachable from outside; least-privilege database roles ----------------------
def _published(service: dict) -> list[str]:
    return [str(p["published"]) if isinstance(p, dict) else str(p) for p in service.get("ports") or []]


def test_only_the_api_is_published_and_only_on_loopback_for_the_tls_proxy(services: dict, compose: dict) -> None:
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"api"}, f"only the API may publish a port, not {sorted(published - {'api'})}"
    for mapping in services["api"]["ports"]:
        text = str(mapping["host_ip"] if isinstance(mapping, dict) else mapping)
        assert text.startswith("127.0.0.1"), "the API is published for the TLS-terminating proxy on the host only"
    assert "TLS" in COMPOSE_FILE.read_text(encoding="utf-8")
    # issue 20: X-Forwarded-For only from the configured proxy, never from anyone ("*")
    command = _command(services["api"])
    assert "--no-proxy-headers" in command and "*" not in command and "--forwarded-allow-ips" not in command
    api = config.Settings(**{k.lower(): _interpolate(v) for k, v in _environment(services["api"]).items()
                             if k in _setting_names()})
    gateways = [c["gateway"] for c in compose["networks"]["default"]["ipam"]["config"]]
    assert api.trusted_proxies == gateways, "only the network's gateway (the host's TLS proxy) is trusted"


def test_each_service_has_its_own_database_role(services: dict) -> None:
    users = {}
    for name in ("api", "worker", "migrate"):
        users[name] = make_url(_interpolate(_environment(services[name])["DATABASE_URL"])).username
    temporal_user = _environment(services["temporal"])["POSTGRES_USER"]
    superuser = _environment(services["postgresql"])["POSTGRES_USER"]
    assert users["api"] == users["worker"] == "ramflow_app"
    assert users["migrate"] == "ramflow_owner"
    assert temporal_user == "temporal" and _environment(services["temporal"]).get("SKIP_DB_CREATE") == "true"
    assert superuser not in set(users.values()) | {temporal_user}, "nothing runs as the superuser"


def test_init_script_grants_least_privilege() -> None:
    script = (ROOT / "db" / "docker-init" / "01-roles-and-databases.sh").read_text(encoding="utf-8")
    for role in ("ramflow_owner", "ramflow_app", "temporal"):
        assert re.search(rf"CREATE ROLE {role} LOGIN PASSWORD .* NOSUPERUSER NOCREATEDB NOCREATEROLE", script)
    assert "CREATE DATABASE ramflow OWNER ramflow_owner" in script
    assert "CREATE DATABASE temporal OWNER temporal" in script
    assert "REVOKE ALL ON DATABASE ramflow, temporal, temporal_visibility FROM PUBLIC" in script
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ramflow_app" in script
    assert not re.search(r"GRANT\s+ALL|CREATE\s+ON\s+SCHEMA.*ramflow_app|SUPERUSER\b(?<!NOSUPERUSER)", script)


def test_api_in_production_validates_entra_tokens_and_hides_the_docs(services: dict) -> None:
    env = _environment(services["api"])
    assert "OIDC_ISSUER" in env and "OIDC_AUDIENCE" in env and ":?" in env["OIDC_ISSUER"]
    assert env["API_DOCS_ENABLED"] == "false"


# --- operations (issue 13): Prometheus and Grafana provisioned from ops/ -----------------------------------
def _mounts(service: dict) -> dict[str, Path]:
    """container path → host path (relative to the repository) of the service's bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        host, container = str(volume).split(":")[:2]
        if host.startswith("./"):
            out[container] = ROOT / host
    return out


def test_prometheus_and_grafana_are_provisioned_from_files_in_the_repository(services: dict) -> None:
    assert {"prometheus", "grafana"} <= set(services)
    for name in ("prometheus", "grafana"):
        for container, host in _mounts(services[name]).items():
            assert host.exists(), f"{name} mounts {host} at {container}, which is not in the repository"
    assert "GF_SECURITY_ADMIN_PASSWORD" in _environment(services["grafana"])
    assert ":?" in _environment(services["grafana"])["GF_SECURITY_ADMIN_PASSWORD"], "no default admin password"


def test_prometheus_scrapes_the_api_and_every_worker_on_their_settings_ports(services: dict, compose: dict) -> None:
    prometheus = services["prometheus"]
    mounts = _mounts(prometheus)
    config_arg = next(a for a in _command(prometheus) if a.startswith("--config.file="))
    scrape = yaml.safe_load(mounts[config_arg.split("=", 1)[1]].read_text(encoding="utf-8"))
    for rule_file in scrape["rule_files"]:
        assert rule_file in mounts, f"rule file {rule_file} is not mounted into the prometheus container"
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    api_env = _environment(services["api"])
    api_target = jobs["ramflow-api"]["static_configs"][0]["targets"][0]
    assert api_target == f"api:{config.Settings(api_port=api_env['API_PORT']).api_port}"
    assert jobs["ramflow-api"]["metrics_path"] == "/metrics"
    # issue 20: the API's /metrics needs its token; Prometheus reads the same value as a compose secret
    secret = jobs["ramflow-api"]["authorization"]["credentials_file"]
    assert secret.startswith("/run/secrets/") and secret.rsplit("/", 1)[1] in prometheus["secrets"]
    assert compose["secrets"][secret.rsplit("/", 1)[1]] == {"environment": "METRICS_TOKEN"}
    assert ":?" in _environment(services["api"])["METRICS_TOKEN"], "no default metrics token"
    worker = config.Settings(**{k.lower(): _interpolate(v) for k, v in _environment(services["worker"]).items()
                                if k in _setting_names()})
    assert worker.worker_metrics_host == "0.0.0.0" and worker.worker_metrics_port > 0
    discovery = jobs["ramflow-worker"]["dns_sd_configs"][0]
    assert discovery["names"] == ["worker"] and discovery["port"] == worker.worker_metrics_port  # every replica
    assert str(worker.worker_metrics_port) in [str(p) for p in services["worker"].get("expose", [])]


def test_grafana_reads_that_prometheus_and_the_repository_dashboards(services: dict) -> None:
    import json

    mounts = _mounts(services["grafana"])
    provisioning = mounts["/etc/grafana/provisioning"]
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    source = sources["datasources"][0]
    assert source["url"] == "http://prometheus:9090" and "prometheus" in services
    providers = yaml.safe_load((provisioning / "dashboards" / "ramflow.yml").read_text(encoding="utf-8"))
    dashboards_dir = mounts[providers["providers"][0]["options"]["path"]]
    dashboards = list(dashboards_dir.glob("*.json"))
    assert dashboards
    for path in dashboards:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            if panel.get("datasource"):
                assert panel["datasource"]["uid"] == source["uid"], f"{path.name}: {panel['title']}"


def test_production_logs_are_json(services: dict) -> None:
    for name in RAMFLOW_SERVICES:
        assert config.Settings(log_format=_environment(services[name])["LOG_FORMAT"]).log_format == "json"


# --- issue 20: the audit chains' checkpoints, outside the database --------------------------------------
def test_audit_anchor_key_is_held_by_api_and_worker_not_the_schema_owner(services: dict, compose: dict) -> None:
    anchor_dir = "/app/" + config.Settings().audit_anchor_dir  # WORKDIR /app
    for name in RAMFLOW_SERVICES:
        assert ":?" in _environment(services[name])["AUDIT_ANCHOR_KEY"], f"{name}: no default anchor key"
        volumes = [str(v) for v in services[name].get("volumes", [])]
        assert any(v.split(":")[:2] == ["audit-anchors", anchor_dir] for v in volumes), name
    assert "AUDIT_ANCHOR_KEY" not in _environment(services["migrate"])
    assert "audit-anchors" in compose["volumes"]
    assert "mkdir -p /app/var/audit-anchors" in DOCKERFILE.read_text(encoding="utf-8")
