# bakeplan: every target installs what it needs (npm ci) when missing.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
BAKEPLAN := node bin/bakeplan.js
TARGETS ?=
# The projects under examples/, planned and checked with the root example.
EXAMPLES := $(wildcard examples/*/context.yaml)

.PHONY: help plan test test-unit test-itg check format build bake lint clean docker-up docker-down bench bench-build schema

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund

dist/bin.js: $(NODE_MODULES) $(shell find src -name '*.ts') package.json scripts/build-dist.mjs
	node scripts/build-dist.mjs

build: dist/bin.js ## bundle src/ into dist/ (one ESM program, a chunk per lazily loaded part)

plan: dist/bin.js ## render bake/*.Dockerfile and docker-bake.json from context.yaml + templates/ (and each of examples/)
	$(BAKEPLAN) plan
	@for c in $(EXAMPLES); do echo "$(BAKEPLAN) plan -c $$c"; $(BAKEPLAN) plan -c "$$c" || exit 1; done

check: dist/bin.js ## typecheck, ESLint, Prettier (--check), and exit 1 with a diff when a committed plan (root or examples/) is out of date
	npx tsc -p tsconfig.json --noEmit
	npx eslint --max-warnings=0 .
	npx prettier --check .
	$(BAKEPLAN) check
	@for c in $(EXAMPLES); do echo "$(BAKEPLAN) check -c $$c"; $(BAKEPLAN) check -c "$$c" || exit 1; done

format: $(NODE_MODULES) ## rewrite every source file in Prettier's format
	npx prettier --write .

schema: dist/bin.js ## regenerate context.schema.json
	$(BAKEPLAN) schema > context.schema.json

test: dist/bin.js ## all tests: unit, then end-to-end (real docker; run `make docker-up` first)
	npx tsc -p tsconfig.json --noEmit
	npx vitest run $(VITEST_FLAGS)

test-unit: dist/bin.js ## unit tests only
	npx vitest run --project unit

test-itg: dist/bin.js ## end-to-end tests only (real engine, buildx, registry)
	npx vitest run --project itg

bake: dist/bin.js ## plan, then build: make bake TARGETS="vllm-cuda12 sglang-cuda13"
	$(BAKEPLAN) bake $(TARGETS)

lint: dist/bin.js ## BuildKit Dockerfile checks over the rendered Dockerfiles
	$(BAKEPLAN) lint $(TARGETS)

docker-up: ## install and start Docker engines (ENGINES=N, default 1), buildx, a registry on 127.0.0.1:5000, local/busybox:1
	scripts/docker-up --engines $(or $(ENGINES),1)

docker-down: ## stop what docker-up started (every engine and the registry)
	scripts/docker-down

bench: dist/bin.js ## planning benchmark (prints figures)
	npm run bench

bench-build: dist/bin.js ## build benchmark with a real engine (prints figures)
	npm run bench:build

clean: ## remove build output and dependencies
	rm -rf dist node_modules coverage .bench
