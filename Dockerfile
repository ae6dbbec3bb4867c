# The production image: the `dist` build (Cargo.toml) on Debian slim, run as an unprivileged user, all
# state (database, signing key, mail outbox) in the /data volume. README.md, "Production".
#
#   docker build -t oxident --build-arg OXIDENT_COMMIT=$(git rev-parse HEAD) .
#   docker run -d --name oxident -p 8090:8090 -v oxident-data:/data \
#     -e OXIDENT_SERVER__SERVER_NAME=id.example.org \
#     -e OXIDENT_SERVER__PUBLIC_BASE_URL=https://id.example.org oxident
#
# Any setting is an OXIDENT_<SECTION>__<KEY> variable, or mount a file and pass --config.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
# Where the binary comes from: the `build` stage below, or an image holding a binary built
# elsewhere at /oxident (CI's smoke test, scripts/container-smoke.sh, builds no toolchain image).
ARG BINARY_FROM=build

FROM ${RUST_IMAGE} AS build
# The commit the binary reports in `oxident_build_info` (read with `option_env!`; a build
# argument is in the environment of this stage's RUN). Not a build script: .git is not in the
# build context, and a script asking git would rerun on every commit of a checkout.
ARG OXIDENT_COMMIT=unknown
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked --bin oxident && cp target/dist/oxident /oxident

FROM ${BINARY_FROM} AS binary

FROM ${RUNTIME_IMAGE}
# CA certificates: SMTP over TLS and homeservers' certificates are checked against them.
RUN if [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin oxident \
 && mkdir -p /data && chown oxident:oxident /data && chmod 700 /data
COPY --from=binary /oxident /usr/local/bin/oxident
ENV OXIDENT_SERVER__BIND=0.0.0.0:8090 \
    OXIDENT_METRICS__BIND=0.0.0.0:9090 \
    OXIDENT_STORAGE__SQLITE_PATH=/data/oxident.sqlite \
    OXIDENT_KEYS__SIGNING_KEY_PATH=/data/signing.key \
    OXIDENT_EMAIL__OUTBOX_DIR=/data/outbox
USER oxident:oxident
WORKDIR /data
VOLUME ["/data"]
# 8090: the identity service (put TLS in front, or set [server.tls]); 9090: /health, /ready,
# /metrics — publish it only to the operator's network.
EXPOSE 8090 9090
HEALTHCHECK --interval=30s --timeout=6s --start-period=60s --retries=3 \
  CMD ["oxident", "health"]
# SIGTERM drains: requests in flight finish within [server] shutdown_grace (10 s), under
# docker stop's default 10 s; raise both together.
STOPSIGNAL SIGTERM
ENTRYPOINT ["oxident"]
CMD ["serve"]
