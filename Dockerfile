# syntax=docker/dockerfile:1
# Lookout: multi-stage build on the official Node.js image (Debian bookworm, slim).
# The node:22 line is LTS and still publishes linux/amd64, linux/arm64 and
# linux/arm/v7 images, so one `docker buildx build --platform …` covers every Pi.
ARG NODE_VERSION=22

# --- build: dev dependencies, TypeScript → dist/ ---------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build

# --- deps: production dependencies only ------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Type declarations, source maps and docs are never read at run time: 70 MB → 40 MB.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.map' -o -name '*.md' \) -delete

# --- runtime ----------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim
# fping for batched ICMP; setcap lets the non-root user send ICMP without root.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fping libcap2-bin \
 && setcap cap_net_raw+ep /usr/bin/fping \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# A 2 MB young generation keeps RSS ~30% lower at the same CPU, one V8 helper thread
# saves ~6 MB more, and a fixed glibc mmap threshold stops RSS creeping with each
# data-file write (src/memory.ts; npm run bench).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1" \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The dashboard's static files are read from src/http/assets at run time.
COPY src/http/assets ./src/http/assets
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME /app/data
EXPOSE 8080
# Slim images have no curl: Node itself asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: Lookout flushes its files and exits within ~8 s, inside Docker's 10 s.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
