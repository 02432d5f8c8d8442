VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: build fmt lint test test-rust test-python test-fuzz test-wheel-if-built fuzz bench demo \
	wheel wheel-test wheel-windows wheel-windows-test macos-check sdist sdist-test

# The extension, and next to it the device plugin (devices/: cpal and libasound, loaded on
# first device use so that `import mediarecorder` never needs libasound) and the screen-cast
# plugin (screencast/: the portal and libpipewire, loaded on the first Wayland capture).
build:
	cargo build --release -p mediarecorder-devices -p mediarecorder-screencast
	cp target/release/libmediarecorder_devices.so target/release/libmediarecorder_screencast.so \
		python/mediarecorder/
	$(VENV)/bin/maturin develop --release

fmt:
	cargo fmt --all
	$(VENV)/bin/ruff format python tests benchmarks examples
	$(VENV)/bin/ruff check --fix python tests benchmarks examples

lint:
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --release --no-default-features --all-targets -- -D warnings
	cargo clippy --release -p mediarecorder-devices -- -D warnings
	cargo clippy --release -p mediarecorder-screencast -- -D warnings
	$(VENV)/bin/ruff check python tests benchmarks examples
	$(VENV)/bin/ruff format --check python tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy examples
	$(VENV)/bin/python -m mypy.stubtest mediarecorder._native

# The core alone (no Python), bounded fuzz runs of make_seekable (the one parser of untrusted
# input; WebM and MP4 targets, 60 s each), the built wheel in Debian 11 and 12 roots if `make wheel` has run, then the package
# through its public API (last, so its summary closes the output).
test: test-rust test-fuzz test-wheel-if-built test-python

test-rust:
	cargo test --release --no-default-features

test-python:
	$(PY) -m pytest -q

test-fuzz:
	bash fuzz/run.sh 60

test-wheel-if-built:
	@if ls $(WHEEL_DIR)/mediarecorder-*_$(ARCH).whl >/dev/null 2>&1; then $(MAKE) wheel-test; \
	else echo "wheel-test: not run (no wheel in $(WHEEL_DIR); make wheel builds it)"; fi

# A portable wheel (manylinux_2_28, abi3, every codec library inside, libasound and libpipewire
# not: each is linked by its plugin only) in
# $(WHEEL_DIR), checked with auditwheel: scripts/wheel/build.sh says how; docs/wheels.md why.
# ARCH=aarch64 cross-builds the aarch64 one (default: this machine's architecture).
WHEEL_DIR ?= target/wheels/dist
ARCH ?= $(shell uname -m)
wheel:
	WHEEL_DIR=$(WHEEL_DIR) VENV=$(VENV) ARCH=$(ARCH) bash scripts/wheel/build.sh

# That wheel pip-installed into minimal Debian 11 (Python 3.9), 12 (3.11) and 13 (3.13) roots,
# checked there; for ARCH=aarch64 arm64 Debian 11 and 12 roots run through qemu-user-static.
wheel-test:
	WHEEL_DIR=$(WHEEL_DIR) ARCH=$(ARCH) bash scripts/wheel/test.sh

# The Windows x64 wheel (win_amd64, abi3), cross-built with mingw-w64 (scripts/wheel/windows.sh),
# and its native code run under Wine: the core's tests, the device plugin's (a WASAPI capture),
# the wheel in a Windows CPython (scripts/wheel/windows_test.sh; docs/wheels.md, "Windows").
wheel-windows:
	WHEEL_DIR=$(WHEEL_DIR) VENV=$(VENV) bash scripts/wheel/windows.sh

wheel-windows-test:
	WHEEL_DIR=$(WHEEL_DIR) VENV=$(VENV) bash scripts/wheel/windows_test.sh

# The core (with and without the binding) and the device plugin through clippy for both macOS
# targets, zig as the C compiler; what needs Apple's SDK is named in scripts/wheel/macos_check.sh.
macos-check:
	VENV=$(VENV) bash scripts/wheel/macos_check.sh

# The source distribution in target/wheels/sdist (see README: building from source).
sdist:
	rm -rf target/wheels/sdist
	$(VENV)/bin/maturin sdist --out target/wheels/sdist

# That sdist pip-installed in a Debian 12 root with only the documented build dependencies
# (and the host's Rust), then checked like the wheel; about 10 min, not part of `make test`.
sdist-test:
	VENV=$(VENV) bash scripts/wheel/sdist_test.sh

# A long fuzz run: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 600
fuzz:
	bash fuzz/run.sh $(FUZZ_SECONDS)

# Every benchmark (modest sizes, ~10 min on 2 CPUs), one table; logs and JSON in benchmarks/out/.
# make bench BENCH_ARGS="--only gil,latency"   or   BENCH_ARGS=--thorough (each script's defaults)
BENCH_ARGS ?=
bench:
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

demo:
	$(PY) examples/demo.py
