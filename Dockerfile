# The adapter stack in one container: the LiteLLM proxy on 0.0.0.0:8080, the business API mock on
# 127.0.0.1:8002 inside the container only.
#
#   docker build -t adapter-stack .
#   docker run --rm -p 8080:8080 -e LITELLM_MASTER_KEY=sk-choose-one adapter-stack
#
# Without a daemon (buildah), and behind a proxy that inspects TLS: sudo ./scripts/container.sh build
# (STARTUP_GUIDE.md, "Deployment files"; tests/container builds and runs the image that way).
#
# Without -e LITELLM_MASTER_KEY the first start writes fresh secrets to /app/src/.env inside the
# container: docker exec <container> grep LITELLM_MASTER_KEY src/.env
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LITELLM_PROXY_HOST=0.0.0.0

# curl: for the curl examples start_services.sh prints and checks by hand inside the container (the scripts
# themselves need only python: ./verify_system.sh's checks are Python, start_services.sh falls back to it).
# Not version-pinned (hadolint DL3008): Debian's archive drops a package's old versions when a security update
# lands, so a pinned version stops installing at the next update of that package.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app \
    && mkdir /app \
    && chown app:app /app

WORKDIR /app
# Numeric (the `app` user made above): Kubernetes' runAsNonRoot can check a numeric user without /etc/passwd.
USER 10001:10001

# Dependencies first, so this layer is reused until requirements.txt (or common.sh) changes. The
# same ensure_venv that start_services.sh runs writes the requirements stamp into the venv, so the
# first start finds /app/.venv up to date and installs nothing.
COPY --chown=app:app requirements.txt ./
COPY --chown=app:app scripts/common.sh scripts/
RUN bash -c 'source scripts/common.sh && ensure_venv'

COPY --chown=app:app . .
# The project itself into the venv (editable, pyproject.toml): a quick step once the source is there.
RUN bash -c 'source scripts/common.sh && ensure_project'

EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/liveliness' % os.environ.get('LITELLM_PROXY_PORT', '8080'), timeout=5)"]

# Stays in the foreground: SIGTERM (docker stop) stops both services cleanly; the container exits
# non-zero if either service dies.
CMD ["./start_services.sh", "--foreground"]
