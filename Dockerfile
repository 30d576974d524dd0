# The segmentation-report service: `segengine serve` as a non-root user, numba kernels compiled
# into the image at build time (`segengine warmup`), so a new container is ready in about a second.
#
#   docker build -t segengine .
#   docker run --rm -p 8000:8000 -v "$PWD/keys:/etc/segengine:ro" segengine
#
# keys/ holds tenants.json and is owned by uid 10001 (README, "Docker"): a directory, not a
# single-file mount, so that keys replaced by `segengine tenants add` reach the running server.
#
# Settings are SEGENGINE_* environment variables (README, "HTTP service").

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY segengine ./segengine
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/var/cache/segengine/numba \
    SEGENGINE_TENANTS_FILE=/etc/segengine/tenants.json
RUN useradd --system --uid 10001 --create-home --home-dir /home/segengine segengine \
    && mkdir -p /var/cache/segengine/numba /etc/segengine \
    && chown -R segengine:segengine /var/cache/segengine
COPY --from=build /wheels /wheels
RUN set -eu; wheel="$(ls /wheels/segengine-*.whl)"; \
    pip install --no-cache-dir "${wheel}[service]"; \
    rm -rf /wheels
USER segengine
# Compile every kernel of the request path into NUMBA_CACHE_DIR (the cache is keyed by CPU model:
# on a different CPU the kernels compile once more at start-up, still before /readyz says ready).
RUN segengine warmup && chmod -R a+rX /var/cache/segengine
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["segengine", "serve", "--host", "0.0.0.0", "--port", "8000"]
