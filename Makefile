# Two commands for a fresh Debian machine with only the Rust toolchain:
#   make demo   - the sample five-node federation
#   make test   - every test
# Both install libclang (needed by the RocksDB build of Oxigraph) when it is missing;
# `make test` also installs Debian's chromium and chromium-driver for the browser
# tests (tests/browser.rs) when missing: no browser is ever downloaded at run time.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test deps browser-deps check

deps:
	@if ! ldconfig -p 2>/dev/null | grep -Eq 'libclang(-[0-9.]+)?\.so'; then \
		echo "Installing libclang-dev (needed to build RocksDB bindings)..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libclang-dev; \
	fi

browser-deps:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing chromium and chromium-driver (for the browser tests)..."; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

demo: deps
	$(CARGO) run --bin ccis -- demo

# Examples are built (so they keep compiling) but hold no tests.
test: deps browser-deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --lib --tests

check: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
