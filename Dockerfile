# The Pitboss image: the `pitboss` command on Python 3.11, running the live worker by default.
#   docker build -t pitboss:0.1.0 .
#   docker run --rm pitboss:0.1.0 --help
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies first, pinned with their hashes (`make lock` refreshes the file): this layer
# is rebuilt only when the lock changes, not on every change to the code.
COPY requirements.lock ./
RUN pip install --quiet --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY pitboss ./pitboss
COPY flows ./flows
COPY operators ./operators
COPY sinks ./sinks
COPY models ./models
COPY config ./config
COPY replay ./replay
RUN pip install --quiet --no-deps . && rm -rf /src

# An unprivileged user owning the state directory (chDB when no server is configured, and
# the Bytewax recovery store); a named volume mounted there inherits the ownership.
RUN useradd --system --uid 10001 --home-dir /var/lib/pitboss pitboss \
    && mkdir -p /var/lib/pitboss \
    && chown pitboss /var/lib/pitboss
USER pitboss
WORKDIR /var/lib/pitboss
VOLUME ["/var/lib/pitboss"]

# Prometheus metrics of `pitboss run`.
EXPOSE 9464

ENTRYPOINT ["pitboss"]
CMD ["run", "--data-dir", "/var/lib/pitboss", "--recovery-dir", "/var/lib/pitboss/recovery", "--metrics-port", "9464", "--metrics-host", "0.0.0.0"]
