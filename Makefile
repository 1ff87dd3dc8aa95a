# Two commands for a fresh Debian machine with only the Rust toolchain:
#   make demo   - the sample five-node federation
#   make test   - every test
# Both install libclang (needed by the RocksDB build of Oxigraph) when it is missing.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test deps check

deps:
	@if ! ldconfig -p 2>/dev/null | grep -Eq 'libclang(-[0-9.]+)?\.so'; then \
		echo "Installing libclang-dev (needed to build RocksDB bindings)..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libclang-dev; \
	fi

demo: deps
	$(CARGO) run --bin ccis -- demo

# Examples are built (so they keep compiling) but hold no tests.
test: deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --lib --tests

check: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
