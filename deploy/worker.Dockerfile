# The tyk-upgrade worker as an image, one container per Docker host (docs/fleet.md, docker-compose.worker.yml).
# Build it with deploy/worker-image.sh: it installs the npm package into the build context's package/ with npm
# (so the image needs neither npm nor a shell) and runs `docker build` on this file.
#   BASE=node:20-bookworm-slim  (the default) Node 20 from Docker's official image; runtime/ is empty.
#   BASE=scratch                (worker-image.sh --host-node) runtime/ holds the build machine's node binary and
#                               exactly the libraries it and the Temporal core bridge load, at their own paths.
ARG BASE=node:20-bookworm-slim
FROM ${BASE}
# Two layers: the runtime changes with node, the package with every release.
COPY runtime/ /
COPY package/ /
# Backups live in a volume at this path (the compose file mounts it); the worker writes nowhere else.
ENV NODE_ENV=production TYK_UPGRADE_BACKUP_DIR=/var/lib/tyk-upgrade/backups
WORKDIR /var/lib/tyk-upgrade
# V8's young generation capped at 1 MB a half: some 30 MB less at the peak of a host worker (docs/fleet.md).
ENTRYPOINT ["node", "--max-semi-space-size=1", "/opt/tyk-upgrade/lib/node_modules/tyk-upgrade/dist/src/client.js"]
CMD ["worker"]
STOPSIGNAL SIGTERM
ARG VERSION
LABEL org.opencontainers.image.title="tyk-upgrade-worker" \
      org.opencontainers.image.description="tyk-upgrade worker: upgrades the Tyk containers of the Docker engine whose socket it is given" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
