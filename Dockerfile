# Mirrors the README's install: a virtual environment with the project installed by pip.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    QB_HOST=0.0.0.0 \
    QB_PORT=8080 \
    QB_DB=/data/qualitybot.db \
    QB_CACHE_DIR=/data/cache \
    PATH=/opt/venv/bin:$PATH

RUN useradd --create-home --uid 10001 qualitybot && mkdir /data && chown qualitybot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

USER qualitybot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('QB_PORT', '8080'), timeout=4)"
CMD ["qualitybot", "run"]
