# Production image: the same `helpdesk` command serves the webhook (and console) or runs workers.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY storage ./storage
COPY console ./console
RUN pip install . && useradd --create-home --uid 10001 helpdesk
# Validate the content and train the intent model into the image, so no container trains at start-up.
ENV HELPDESK_CACHE_DIR=/app/model-cache
RUN helpdesk knowledge check && chown -R helpdesk /app/model-cache
USER helpdesk
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["helpdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
