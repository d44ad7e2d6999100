# recovery-bot: the Telegram bot with its content baked in.
#
#   docker build -t recovery-bot .
#   docker run -e TELEGRAM_BOT_TOKEN -v recovery-bot-state:/var/lib/recovery-bot recovery-bot
#
# The default command polls Telegram and serves /healthz, /readyz and /metrics on port 8443.
# For webhook mode (behind a TLS reverse proxy) see compose.yaml and docs/DEPLOYMENT.md; the
# probes are then on the webhook port, which must also be 8443 (or set RECOVERY_BOT_HEALTH_PORT).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir /src

FROM python:3.11-slim
LABEL org.opencontainers.image.title="recovery-bot" \
      org.opencontainers.image.description="Checked, sourced answers for people affected by opioid use (Telegram bot)" \
      org.opencontainers.image.licenses="MIT AND CC-BY-4.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RECOVERY_BOT_CONTENT=/opt/recovery-bot \
    RECOVERY_BOT_STATE_DIR=/var/lib/recovery-bot \
    RECOVERY_BOT_HEALTH_PORT=8443
RUN groupadd --system --gid 10001 recovery-bot \
    && useradd --system --uid 10001 --gid recovery-bot --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin recovery-bot \
    && install -d -o recovery-bot -g recovery-bot -m 0700 /var/lib/recovery-bot
COPY --from=build /opt/venv /opt/venv
# The content (read-only, owned by root); .dockerignore keeps tests, caches and secrets out.
COPY . /opt/recovery-bot
# Refuse to build an image whose content does not validate. Loading it also writes the
# ready-made sentence encoder (bot/understand/encoder_cache.py, about 80 MB) that start-up
# then reads instead of rebuilding (about 1 s of CPU less at every start).
ENV RECOVERY_BOT_CACHE_DIR=/opt/recovery-bot-cache
RUN recovery-bot lint
USER 10001:10001
VOLUME ["/var/lib/recovery-bot"]
EXPOSE 8443
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RECOVERY_BOT_HEALTH_PORT', '8443'), timeout=4)"]
ENTRYPOINT ["recovery-bot"]
CMD ["run", "--metrics-host", "0.0.0.0", "--metrics-port", "8443"]
