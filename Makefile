# The two commands of the README:
#   make demo   set up .venv and run the main job on embedded defaults (SQLite, simulated carrier)
#   make test   install what the tests need (Python packages, Debian postgresql, sip-tester and
#               chromium) and run them
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the test suite runs for real: package:command-that-proves-it-is-there
DEBIAN_TEST_PACKAGES := postgresql:/usr/lib/postgresql/*/bin/initdb sip-tester:sipp chromium:chromium
PYTEST_ARGS ?=

.PHONY: demo test install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dialer demo

system-deps:
	@missing=""; \
	for entry in $(DEBIAN_TEST_PACKAGES); do \
	  pkg=$${entry%%:*}; probe=$${entry#*:}; \
	  if ! ls $$probe >/dev/null 2>&1 && ! command -v $$probe >/dev/null 2>&1; then missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(STAMP) system-deps
	$(BIN)/python -m pytest --doctest-modules --ignore=dialer/__main__.py \
	  --ignore=campaigns/migrations tests campaigns dialer telephony $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info dialer-demo.db* test-output
