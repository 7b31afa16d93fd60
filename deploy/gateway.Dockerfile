# The Galaxy gateway (`galaxy-gateway serve`): the one port players reach. Build from the
# repository root:
#   docker build -f deploy/gateway.Dockerfile -t galaxy-gateway .
# Every dependency is installed at the version pinned in requirements.lock.
ARG PYTHON=python:3.11-slim

FROM ${PYTHON} AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
RUN python -m venv /opt/galaxy \
 && /opt/galaxy/bin/pip install --no-cache-dir --quiet -c requirements.lock .

FROM ${PYTHON}
# The backend's user id: a token file the backend wrote (owner-only) stays readable.
RUN groupadd --gid 10001 galaxy \
 && useradd --uid 10001 --gid galaxy --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin galaxy
COPY --from=build /opt/galaxy /opt/galaxy
ENV PATH=/opt/galaxy/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER galaxy
WORKDIR /tmp
# HTTP, WebSocket push and the web client.
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["galaxy-gateway"]
CMD ["serve"]
