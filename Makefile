VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: build fmt lint test test-rust test-python bench demo

build:
	$(VENV)/bin/maturin develop --release

fmt:
	cargo fmt --all
	$(VENV)/bin/ruff format python tests benchmarks examples
	$(VENV)/bin/ruff check --fix python tests benchmarks examples

lint:
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --release --no-default-features --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benchmarks examples
	$(VENV)/bin/ruff format --check python tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m mypy.stubtest mediarecorder._native

# The core alone (no Python), then the package through its public API.
test: test-rust test-python

test-rust:
	cargo test --release --no-default-features

test-python:
	$(PY) -m pytest -q

bench:
	$(PY) benchmarks/bench_audio.py

demo:
	$(PY) examples/demo.py
