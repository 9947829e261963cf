# swarm: the GitHub App (webhook receiver, API, workers) in one slim, non-root image.
# docker build -t swarm . && docker run -p 8000:8000 --env-file swarm.env swarm
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md ./
COPY swarm_core swarm_core
COPY swarm_cli swarm_cli
COPY app app
COPY action action
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[app,secrets]" psycopg[binary] redis

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 swarm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER swarm
ENV SWARM_DATA_DIR=/home/swarm/data PYTHONUNBUFFERED=1
VOLUME ["/home/swarm/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["swarm", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
