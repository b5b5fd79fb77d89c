# digestbot in a container: `docker compose up -d` (compose.yaml), or
#   docker build -t digestbot . && docker run -d -v digestbot-data:/data -e TELEGRAM_TOKEN digestbot
# The database and digest folder live in the /data volume; see docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
# The image's config: the packaged example with the container's additions (HTTP server on for the
# health check); paths point into /data through the variables below.
RUN pip install . \
    && mkdir -p /etc/digestbot \
    && cat bot/config.example.yaml deploy/config.docker.yaml > /etc/digestbot/config.yaml \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin digestbot \
    && install -d -o digestbot -g digestbot /data /data/digests \
    && install -o digestbot -g digestbot -m 0644 digests/*.md /data/digests/ \
    && rm -rf /src

ENV DIGESTBOT_CONFIG=/etc/digestbot/config.yaml \
    DIGESTBOT_DATABASE=/data/digestbot.db \
    DIGESTBOT_DIGESTS=/data/digests

WORKDIR /data
VOLUME /data
USER digestbot
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# SIGTERM (docker stop) shuts the bot down cleanly: in-flight sends get delivery.shutdown_grace.
STOPSIGNAL SIGTERM
CMD ["digestbot", "run"]
