# One image for every process: the web server (default command), the Celery workers and
# beat (override the command; see docker-compose.yml and README "Deployment").
#
# The base is pinned by tag and by the digest of its multi-architecture index (taken from
# public Dockerfiles that pin the same tag; docker could not pull it where this was written).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- build: compile what has no wheel into a virtualenv ----------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libcurl4-openssl-dev libssl-dev libgmp-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements.txt requirements-garaga.txt ./
# The garaga extra (Starknet calldata for Groth16 receipts) pins conflicting versions, so it
# goes in without its dependencies, as `make venv` does.
RUN pip install -r requirements.txt \
    && pip install --no-deps -r requirements-garaga.txt

# --- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 libgmp10 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fossil \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin fossil \
    && install -d -o 10001 -g 10001 -m 1777 /var/lib/fossil /tmp/fossil-metrics
# The run and metrics directories are writable (sticky) by any uid: docker-compose.yml runs the
# processes as the owner of the secret files (FOSSIL_UID), which need not be 10001.
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=fossil.settings \
    FOSSIL_RUN_DIR=/var/lib/fossil \
    STATIC_ROOT=/app/staticfiles \
    PROMETHEUS_MULTIPROC_DIR=/tmp/fossil-metrics \
    PORT=3000 \
    WEB_BIND=0.0.0.0:3000 \
    LOG_FORMAT=json
WORKDIR /app
COPY --chown=root:root . .
# The admin's and the API docs' static files, served by the app itself (WhiteNoise).
RUN DATABASE_URL="postgresql://collectstatic@/none?host=/nonexistent" python manage.py collectstatic --no-input -v 0
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "fossil.wsgi:application"]
