# The tyk-upgrade worker as an image (deploy/docker-compose.worker.yml builds it from the repository root).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npx tsc -p . && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /opt/tyk-upgrade
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENTRYPOINT ["node", "/opt/tyk-upgrade/dist/src/client.js"]
CMD ["worker"]
