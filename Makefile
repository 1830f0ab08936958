# Msg: the front door. Every target installs what it needs by itself (npm packages on first use).
SHELL := /bin/bash
HOST ?= 127.0.0.1
NAME ?=
WORKERS ?=
TSX := node_modules/.bin/tsx
STAMP := node_modules/.msg-installed
workers_arg = $(if $(WORKERS),--workers $(WORKERS),)
name_arg = $(if $(NAME),--name $(NAME),)
# glibc malloc for the servers: 2 arenas, and buffers of 64 KiB and more in their own mappings (given
# back on free). Without it RSS stayed ~160 MiB above the start after a storm, with it ~13 MiB
# (stage4-routing/README.md, "Limits and memory").
server_malloc := MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536

.DEFAULT_GOAL := help
.PHONY: help install test check typecheck lint format format-check bench storm conformance \
	stage1 stage1-server stage1-client stage2 stage2-server stage2-client \
	stage3 stage3-server stage3-client stage4 stage4-server stage4-client stage5-server

help: ## Print the targets, one line each
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  make \1\t\2/' | expand -t 26

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP) ## Install the npm packages (every other target does this first)

test: $(STAMP) ## Run every stage's tests (prints "N passed, N failed" last)
	node shared/tools/run-jest.mjs

check: typecheck lint format-check test ## Typecheck, lint, format check, then every test

typecheck: $(STAMP) ## TypeScript type check (no output files)
	node_modules/.bin/tsc -p tsconfig.json

lint: $(STAMP) ## ESLint over the whole repository
	node_modules/.bin/eslint .

format-check: $(STAMP) ## Prettier check (make format rewrites)
	node_modules/.bin/prettier --check .

format: $(STAMP) ## Rewrite files with Prettier
	node_modules/.bin/prettier --write .

stage1: $(STAMP) ## Stage 1 demo: echo server + scripted client, labelled windows
	$(TSX) stage1-basic/src/main-demo.ts

stage1-server: $(STAMP) ## Stage 1 echo server (HOST=, PORT= default 5001)
	$(TSX) stage1-basic/src/main-server.ts --host $(HOST) --port $(or $(PORT),5001)

stage1-client: $(STAMP) ## Stage 1 echo client (HOST=, PORT= default 5001)
	$(TSX) stage1-basic/src/main-client.ts --host $(HOST) --port $(or $(PORT),5001)

stage2: $(STAMP) ## Stage 2 demo: two scripted clients on one event loop each
	$(TSX) stage2-select-client/src/main-demo.ts

stage2-server: $(STAMP) ## Stage 2 minimal broadcast server (HOST=, PORT= default 5002)
	$(TSX) stage2-select-client/src/main-server.ts --host $(HOST) --port $(or $(PORT),5002)

stage2-client: $(STAMP) ## Stage 2 multiplexed client (HOST=, PORT= default 5002, NAME=)
	$(TSX) stage2-select-client/src/main-client.ts --host $(HOST) --port $(or $(PORT),5002) $(name_arg)

stage3: $(STAMP) ## Stage 3 demo: several clients at once, the server window shows the workers
	$(TSX) stage3-multithread-server/src/main-demo.ts

stage3-server: $(STAMP) ## Stage 3 worker-thread chat server (HOST=, PORT= default 5003, WORKERS=)
	$(server_malloc) $(TSX) stage3-multithread-server/src/main-server.ts --host $(HOST) --port $(or $(PORT),5003) $(workers_arg)

stage3-client: $(STAMP) ## Stage 3 client: the stage 2 client (HOST=, PORT= default 5003, NAME=)
	$(TSX) stage2-select-client/src/main-client.ts --host $(HOST) --port $(or $(PORT),5003) $(name_arg)

stage4: $(STAMP) ## Stage 4 demo (graded): server, alice, bob, carol as panes (tmux) or labelled lines
	$(TSX) stage4-routing/src/main-demo.ts

stage4-server: $(STAMP) ## Stage 4 routing server (HOST=, PORT= default 5004, WORKERS=)
	$(server_malloc) $(TSX) stage4-routing/src/main-server.ts --host $(HOST) --port $(or $(PORT),5004) $(workers_arg)

stage4-client: $(STAMP) ## Stage 4 client with /who and /raw (HOST=, PORT= default 5004, NAME=)
	$(TSX) stage4-routing/src/main-client.ts --host $(HOST) --port $(or $(PORT),5004) $(name_arg)

DATA ?= data
stage5-server: $(STAMP) ## Stage 5 server: accounts, durable history, offline queue (HOST=, PORT= default 5005, DATA= default ./data)
	$(TSX) stage5-bonus/src/main-server.ts --host $(HOST) --port $(or $(PORT),5005) --data $(DATA) $(workers_arg)

conformance: $(STAMP) ## Run the protocol conformance kit against any server (HOST=, PORT=, PRIVATE=1, MSG_RULES=1, STRICT=1, ONLY=, SKIP=, JSON=file)
	$(TSX) shared/tools/conformance-cli.ts --host $(HOST) --port $(or $(PORT),5004) $(if $(PRIVATE),--private,) $(if $(MSG_RULES),--msg-rules,) $(if $(STRICT),--strict,) $(if $(ONLY),--only '$(ONLY)',) $(if $(SKIP),--skip '$(SKIP)',) $(if $(JSON),--json '$(JSON)',)

storm: $(STAMP) ## Hostile storm on the stage 4 server: RSS start/peak/after, heap snapshot summary (~5 min)
	$(server_malloc) $(TSX) stage4-routing/bench/storm.ts --snapshot-dir $${TMPDIR:-/tmp}/msg-storm

bench: $(STAMP) ## Benchmarks: stage 3/4 servers vs raw net baselines; stage 2 idle CPU
	$(TSX) stage2-select-client/bench/idle-cpu.ts
	$(TSX) stage3-multithread-server/bench/main-bench.ts
	$(TSX) stage4-routing/bench/main-bench.ts

.PHONY: screenshots
screenshots: $(STAMP) ## Remake docs/screenshots/*.png from the demos (installs chromium if missing)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji)
	$(TSX) shared/tools/screenshots.ts
