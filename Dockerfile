# Hookline's image: the locked dependencies (uv.lock, without the dev group or the embedded extra)
# in a virtual environment, run as a non-root user. Every Procfile process runs from it; compose.yaml
# gives each its command. Build: `docker build -t hookline .` or `podman build -t hookline .`
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# uv from PyPI, pinned: the resolver that wrote uv.lock installs from it, nothing re-resolves.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The dependencies in a layer of their own: a change to Hookline's code alone does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv /opt/uv/bin/uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY src ./src
# --no-editable: Hookline itself goes into the environment as a wheel would, nothing points back at /src.
RUN --mount=type=cache,target=/root/.cache/uv /opt/uv/bin/uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE}
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /var/lib/hookline --shell /usr/sbin/nologin hookline \
 && mkdir -p /var/lib/hookline/metrics \
 && chown -R hookline:hookline /var/lib/hookline
COPY --from=build /app/.venv /app/.venv
# The working directory is writable by the user: var/ (Flower's state, beat's schedule file) lives there.
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 HOOKLINE_VAR_DIR=/var/lib/hookline \
    HOOKLINE_HOST=0.0.0.0 HOOKLINE_FLOWER_ADDRESS=0.0.0.0 HOOKLINE_METRICS_ADDRESS=0.0.0.0
WORKDIR /var/lib/hookline
USER hookline
EXPOSE 8000 5555 9808
CMD ["hookline", "web"]
