# Msg: the front door. Every target installs what it needs by itself (npm packages on first use).
SHELL := /bin/bash
HOST ?= 127.0.0.1
NAME ?=
WORKERS ?=
TSX := node_modules/.bin/tsx
STAMP := node_modules/.msg-installed
workers_arg = $(if $(WORKERS),--workers $(WORKERS),)
name_arg = $(if $(NAME),--name $(NAME),)

.DEFAULT_GOAL := help
.PHONY: help install test check typecheck lint format format-check \
	stage1 stage1-server stage1-client

help: ## Print the targets, one line each
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  make \1\t\2/' | expand -t 26

$(STAMP): package.json package-lock.json
	npm install --no-audit --no-fund
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
