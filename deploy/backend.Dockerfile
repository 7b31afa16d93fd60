# The Galaxy backend (`galaxy-backend serve`). Build from the repository root:
#   docker build -f deploy/backend.Dockerfile -t galaxy-backend .
# Every dependency is installed at the version pinned in requirements.lock.
ARG PYTHON=python:3.11-slim

FROM ${PYTHON} AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
RUN python -m venv /opt/galaxy \
 && /opt/galaxy/bin/pip install --no-cache-dir --quiet -c requirements.lock .

FROM ${PYTHON}
RUN groupadd --gid 10001 galaxy \
 && useradd --uid 10001 --gid galaxy --no-create-home --home-dir /var/lib/galaxy \
      --shell /usr/sbin/nologin galaxy \
 && mkdir -p /var/lib/galaxy \
 && chown galaxy:galaxy /var/lib/galaxy
COPY --from=build /opt/galaxy /opt/galaxy
ENV PATH=/opt/galaxy/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BACKEND_DATA_DIR=/var/lib/galaxy

USER galaxy
WORKDIR /var/lib/galaxy
VOLUME /var/lib/galaxy
# HTTP API and probes; gRPC push for gateways.
EXPOSE 8080 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["galaxy-backend"]
CMD ["serve"]
