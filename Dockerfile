# switchyard in a container: Node 24 (the runtime we recommend), the build and the production
# dependencies only, run as the unprivileged `node` user.
#   docker build -t switchyard .
#   docker run -p 8000:8000 -p 127.0.0.1:8001:8001 -e SWITCHYARD_ADMIN_TOKEN=… \
#     -v "$PWD/switchyard.yaml:/etc/switchyard/switchyard.yaml:ro" -v switchyard-state:/var/lib/switchyard switchyard
# The config is mounted at /etc/switchyard/switchyard.yaml (deploy/docker/switchyard.yaml is a
# start); admin changes that cannot be written into a read-only mount go to the state file in
# /var/lib/switchyard (a volume), so they survive a restart.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.ui.json ./
COPY src ./src
COPY ui ./ui
RUN npx tsc -p tsconfig.json && npx tsc -p tsconfig.ui.json

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/ui ./dist/ui
COPY ui ./ui
COPY config ./config
COPY schema ./schema
COPY deploy/docker/switchyard.yaml /etc/switchyard/switchyard.yaml
RUN mkdir -p /var/lib/switchyard && chown node:node /var/lib/switchyard
USER node
EXPOSE 8000 8001
VOLUME ["/var/lib/switchyard"]
# Healthy while the admin API answers GET /status (with the admin token when one is set).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["start", "-c", "/etc/switchyard/switchyard.yaml", "--state", "/var/lib/switchyard/switchyard.state.json"]
