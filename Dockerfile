# syntax=docker/dockerfile:1
#
# tickerbot image: a builder stage installs the project into a virtualenv, the runtime stage
# copies only that venv onto a clean slim base, so no compiler, pip cache or sources ship.
# Both stages use the same base tag: the venv's interpreter symlinks must resolve identically.
# For fully reproducible builds, append the digest (python:3.11-slim-trixie@sha256:…).

FROM python:3.11-slim-trixie AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /src
RUN python -m venv /opt/venv

# Dependencies first, from pyproject.toml alone: this layer survives code-only changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY ticker ./ticker
RUN pip install --no-cache-dir --no-deps . \
    && python -m compileall -q /opt/venv


FROM python:3.11-slim-trixie AS runtime

LABEL org.opencontainers.image.title="tickerbot" \
      org.opencontainers.image.description="Follows live news tickers and delivers every new entry to Telegram chats." \
      org.opencontainers.image.licenses="MIT"

# A fixed uid/gid so that volume ownership and runAsUser policies are predictable across hosts.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" tickerbot \
    && useradd --system --uid "${APP_UID}" --gid tickerbot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin tickerbot \
    && mkdir -p /data /config \
    && chown tickerbot:tickerbot /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TICKERBOT_DATABASE_URL=sqlite+aiosqlite:////data/tickerbot.db \
    TICKERBOT_CONFIG=/config/config.toml

WORKDIR /data
VOLUME ["/data"]
USER ${APP_UID}:${APP_GID}

# Prometheus /metrics and /healthz; served only when the config sets
# [metrics] listen = "0.0.0.0:9464" (the default "" serves nothing and the health check fails).
EXPOSE 9464

# slim has no curl: ask the bot's own /healthz with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["tickerbot"]
CMD ["run"]
