# Every Bulwark image, one target each, built from the repository's root:
#   docker build --target gateway -t bulwark/gateway .
#   docker build --target migrate -t bulwark/migrate .
#   docker build --target scoping -t bulwark/scoping .
# and likewise crosswalk, incidents, attestations and integrations. One build
# stage builds every program once (docker reuses it for each target); each
# image is a short stage on the shared runtime base that installs exactly
# the Debian packages of the libraries its programs load (objdump -p lists
# them as NEEDED), copies them in and says how they run.
# deploy/images/check.sh builds each image's file system as docker would and
# fails on a missing library or a package nothing needs (README.md there).
#
# The services serve gRPC over mutual TLS: mount the CA, the process's
# certificate and its key, and name them in BULWARK_TLS_CA_FILE,
# BULWARK_TLS_CERT_FILE and BULWARK_TLS_KEY_FILE (deploy/tls/make-certs.sh
# makes them). Their migrations ship in the migrate image, which applies them.

# nodejs and npm: the gateway embeds the API reference page's bundle, which
# its build installs from the npm registry (services/gateway/apidocs/).
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config protobuf-compiler protobuf-c-compiler \
      libprotobuf-c-dev libprotobuf-dev libgrpc-dev libevent-dev libjansson-dev \
      libpq-dev libssl-dev libicu-dev check libcurl4-openssl-dev libxlsxwriter-dev \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build -j"$(nproc)" --target bulwarkctl bulwark-gateway bulwark-scoping \
      bulwark-crosswalk bulwark-incidents bulwark-attestations bulwark-integrations \
 && strip --strip-debug /build/tools/bulwarkctl/bulwarkctl /build/services/*/bulwark-* \
 && deploy/collect-migrations.sh /build/migrations

# What every image shares: the user it runs as (uid 10001, no home, no
# shell) and apt-install (deploy/images/apt-install.sh), with which each
# image's stage installs its packages in one RUN, as root, before its USER.
FROM debian:12-slim AS runtime
COPY deploy/images/apt-install.sh /usr/local/sbin/apt-install
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin bulwark
ENV BULWARK_LOG_LEVEL=info
STOPSIGNAL SIGTERM

# The migrate image: bulwarkctl, psql and every component's migrations under
# /usr/share/bulwark/migrations/<component>/ (with ORDER, the order they
# apply in); it runs deploy/migrate.sh: the migrations, then the services'
# login roles. It also carries openssl and deploy/tls/make-certs.sh, with
# which docker-compose makes the internal TLS certificates.
# bulwarkctl loads libpq (libpq5), libcrypto (libssl3), libcurl (libcurl4)
# and jansson (libjansson4); migrate.sh runs psql (postgresql-client-15);
# make-certs.sh runs openssl.
FROM runtime AS migrate
RUN apt-install libpq5 libssl3 libcurl4 libjansson4 postgresql-client-15 openssl
COPY --from=build /build/tools/bulwarkctl/bulwarkctl /usr/local/bin/
COPY --from=build /build/migrations/ /usr/share/bulwark/migrations/
COPY deploy/migrate.sh deploy/app-role.sql deploy/tls/make-certs.sh /usr/share/bulwark/
USER bulwark
ENV PSQL=/usr/lib/postgresql/15/bin/psql
# Without arguments it applies /usr/share/bulwark/migrations/ORDER.
ENTRYPOINT ["/usr/share/bulwark/migrate.sh"]

# The gateway loads gRPC (libgrpc29), protobuf-c, libevent and its pthreads
# part, jansson, libpq, libcrypto (libssl3) and libcurl (libcurl4, which
# fetches an OIDC issuer's keys over https: ca-certificates gives it the
# public CAs to check that server with).
FROM runtime AS gateway
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libevent-pthreads-2.1-7 libjansson4 \
      libpq5 libssl3 libcurl4 ca-certificates
COPY --from=build /build/services/gateway/bulwark-gateway /usr/local/bin/
USER bulwark
ENV BULWARK_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bulwark-gateway"]

# bulwark-scoping loads gRPC (libgrpc29), protobuf-c, libevent (the gRPC
# client that --probe uses), libpq, libcrypto (libssl3),
# ICU (libicu72, which carries its own time zone data) and jansson (libjansson4,
# which reads the Member State profiles at start-up; they are built in).
FROM runtime AS scoping
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libpq5 libssl3 libicu72 libjansson4
COPY --from=build /build/services/scoping/bulwark-scoping /usr/local/bin/
USER bulwark
ENV BULWARK_SCOPING_ADDR=0.0.0.0:50051
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/bulwark-scoping"]

# bulwark-crosswalk loads gRPC (libgrpc29), protobuf-c, libevent, libpq and
# libcrypto (libssl3) and jansson (libjansson4, through the shared service
# library's JSON writer), and libxlsxwriter (libxlsxwriter4: the SoA and the
# gap analysis as XLSX; it writes the workbook to a temporary file under
# TMPDIR, /tmp by default, which must be writable).
# Its migrations carry the reference data too. It calls the scoping
# service: set BULWARK_SCOPING_ADDR (compose: scoping:50051).
FROM runtime AS crosswalk
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libpq5 libssl3 libjansson4 libxlsxwriter4
COPY --from=build /build/services/crosswalk/bulwark-crosswalk /usr/local/bin/
USER bulwark
ENV BULWARK_CROSSWALK_ADDR=0.0.0.0:50052
EXPOSE 50052
ENTRYPOINT ["/usr/local/bin/bulwark-crosswalk"]

# bulwark-incidents loads gRPC (libgrpc29), protobuf-c, libevent, libpq,
# libcrypto (libssl3) and ICU (libicu72, which carries its own time zone data
# for the reporting clock) and jansson (libjansson4, through the shared service
# library's JSON writer), and libxlsxwriter (libxlsxwriter4: the incident
# register as XLSX; it writes the workbook to a temporary file under TMPDIR,
# /tmp by default, which must be writable). It calls the scoping service.
FROM runtime AS incidents
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libpq5 libssl3 libicu72 libjansson4 \
      libxlsxwriter4
COPY --from=build /build/services/incidents/bulwark-incidents /usr/local/bin/
USER bulwark
ENV BULWARK_INCIDENTS_ADDR=0.0.0.0:50053 BULWARK_SCOPING_ADDR=scoping:50051
EXPOSE 50053
ENTRYPOINT ["/usr/local/bin/bulwark-incidents"]

# bulwark-attestations loads gRPC (libgrpc29), protobuf-c, libevent, libpq and
# libcrypto (libssl3, which also signs with Ed25519) and jansson (libjansson4,
# through the shared service library's JSON writer).
# The signing key is not in the image: mount it at the path
# BULWARK_SIGNING_KEY_FILE names, owned by uid 10001 and mode 600 (the service
# refuses a key that group or others can read), e.g.
#   openssl genpkey -algorithm ed25519 -out attestations-ed25519.pem
FROM runtime AS attestations
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libpq5 libssl3 libjansson4
COPY --from=build /build/services/attestations/bulwark-attestations /usr/local/bin/
USER bulwark
ENV BULWARK_ATTESTATIONS_ADDR=0.0.0.0:50054 \
    BULWARK_SIGNING_KEY_FILE=/run/secrets/attestations-ed25519.pem
EXPOSE 50054
ENTRYPOINT ["/usr/local/bin/bulwark-attestations"]

# bulwark-integrations loads gRPC (libgrpc29), protobuf-c, libevent and its
# pthreads locking (the dispatcher thread's loop), libpq, libcrypto (libssl3:
# sealing, signatures), libcurl (libcurl4: the deliveries) and jansson
# (libjansson4); ca-certificates is libcurl's CA bundle, which verifies the
# receivers' https certificates. It seals webhook secrets with
# BULWARK_SECRETS_KEY (32 bytes, hex or base64), which no other process
# holds, and POSTs webhooks over https to the outside world.
FROM runtime AS integrations
RUN apt-install libgrpc29 libprotobuf-c1 libevent-2.1-7 libevent-pthreads-2.1-7 libpq5 libssl3 \
      libcurl4 ca-certificates libjansson4
COPY --from=build /build/services/integrations/bulwark-integrations /usr/local/bin/
USER bulwark
ENV BULWARK_INTEGRATIONS_ADDR=0.0.0.0:50055
EXPOSE 50055
ENTRYPOINT ["/usr/local/bin/bulwark-integrations"]
