# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript, then ship production dependencies and dist/ only,
# running as a non-root user under tini so SIGTERM reaches the gateway for a graceful shutdown.
# The same compiled code as `npm start` (node dist/src/cli.js serve); see docs/embedded.md.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY config ./config
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no install script is needed by any of them (allowScripts in package.json).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    TONGBAN_DATA_DIR=/var/lib/tongban \
    TONGBAN_CONFIG_DIR=/app/config/data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config/data ./config/data
COPY package.json ./
RUN mkdir -p /var/lib/tongban && chown node:node /var/lib/tongban
USER node
EXPOSE 8080
VOLUME ["/var/lib/tongban"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli.js", "serve"]
