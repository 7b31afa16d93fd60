# The Galaxy game engine: Python plus the standard-library-only `galaxy_engine` package.
# Build from the repository root: docker build -f deploy/engine.Dockerfile -t galaxy-engine .
# BASE is any image with Python 3.11+ (CI builds on a local Debian base; no registry there).
ARG BASE=python:3.11-slim
FROM ${BASE}

# Debian's python3 package has no `python` command; the official images do.
RUN command -v python >/dev/null || ln -s "$(command -v python3)" /usr/local/bin/python \
 && groupadd --gid 10001 galaxy \
 && useradd --uid 10001 --gid galaxy --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin galaxy \
 && mkdir /data \
 && chown galaxy:galaxy /data

COPY src/galaxy_engine /opt/galaxy/galaxy_engine
ENV PYTHONPATH=/opt/galaxy \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER galaxy
# Declared after the chown so that a new volume starts out owned by the engine's user.
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["python", "-m", "galaxy_engine", "serve", "--data", "/data", "--port", "8080"]
