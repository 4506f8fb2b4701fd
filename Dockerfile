# syntax=docker/dockerfile:1
# Touchpoint Sentinel worker: docker build -t touchpoint-sentinel:0.1.0 .
# The build stage turns the source and every dependency into wheels; the final stage
# installs them offline into /opt/sentinel and keeps no compiler, pip or source.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml ./
COPY schemas ./schemas
COPY agents ./agents
COPY streams ./streams
COPY deploy/image/build-wheels.sh /usr/local/bin/build-wheels
RUN build-wheels /src /wheels

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SENTINEL_METRICS_HOST=0.0.0.0
COPY deploy/image/install.sh /usr/local/bin/install-sentinel
COPY deploy/image/healthcheck.py /usr/local/lib/sentinel-healthcheck.py
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    install-sentinel /wheels /opt/sentinel \
    && groupadd --system --gid 10001 sentinel \
    && useradd --system --uid 10001 --gid sentinel --home-dir /var/lib/sentinel --shell /usr/sbin/nologin sentinel \
    && install --directory --owner sentinel --group sentinel --mode 0750 /var/lib/sentinel \
    && python3 -m pip uninstall --yes --quiet pip setuptools wheel \
    && rm /usr/local/bin/install-sentinel
ENV PATH=/opt/sentinel/bin:$PATH
WORKDIR /var/lib/sentinel
USER 10001:10001
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
    CMD ["python3", "/usr/local/lib/sentinel-healthcheck.py"]
ENTRYPOINT ["sentinel"]
CMD ["worker"]
