# Ramflow image: one image for the HTTP API (default CMD), the Temporal worker
# (`python worker.py`) and the database migrations
# (`alembic -c db/alembic.ini upgrade head`). See docker-compose.yml.
FROM python:3.11.10-slim-bookworm

# production unless told otherwise: the API needs an explicit https OIDC_ISSUER (config.Settings.ramflow_env)
ENV RAMFLOW_ENV=production \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Unprivileged runtime user.
RUN groupadd --system --gid 10001 ramflow \
 && useradd --system --uid 10001 --gid ramflow --home-dir /app --shell /usr/sbin/nologin ramflow

# The project (see .dockerignore for what stays out) and its dependencies.
# config.py is not part of the installed distribution, so the services run
# from /app where it lives; db/alembic.ini finds db/migrations relative to itself.
COPY . /app
RUN pip install . \
 && rm -rf /app/build /app/*.egg-info \
 && mkdir -p /app/var \
 && chown ramflow:ramflow /app/var

USER ramflow

EXPOSE 8000

# Worker:     python worker.py
# Migrations: alembic -c db/alembic.ini upgrade head
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
