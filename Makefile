# Galaxy: `make run` starts the backend and the gateway with embedded defaults, `make test`
# runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := src tests bench scripts

.PHONY: setup run test lint typecheck pytest proto lock bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The backend and the gateway in front of it (open the address it prints, :8000). Embedded
# PostgreSQL and SMTP sink, bundled GeoIP data; the gateway reads the internal token the
# backend writes to BACKEND_DATA_DIR and the backend trusts its X-Forwarded-For (loopback);
# no collector on a laptop, so no telemetry export unless asked for. Both run as the
# terminal's foreground job, so Ctrl-C stops them alone and make reports a clean exit.
run: setup
	BACKEND_OTEL_TRACES_EXPORTER=$${BACKEND_OTEL_TRACES_EXPORTER:-none} \
	BACKEND_OTEL_METRICS_EXPORTER=$${BACKEND_OTEL_METRICS_EXPORTER:-none} \
	BACKEND_LOG_FORMAT=$${BACKEND_LOG_FORMAT:-console} \
	BACKEND_TRUSTED_PROXIES=$${BACKEND_TRUSTED_PROXIES:-127.0.0.1/8,::1} \
	GATEWAY_OTEL_TRACES_EXPORTER=$${GATEWAY_OTEL_TRACES_EXPORTER:-none} \
	GATEWAY_OTEL_METRICS_EXPORTER=$${GATEWAY_OTEL_METRICS_EXPORTER:-none} \
	GATEWAY_LOG_FORMAT=$${GATEWAY_LOG_FORMAT:-console} \
	$(BIN)/python scripts/foreground.py $(BIN)/python scripts/run_stack.py $(BIN)

test: lint typecheck pytest

lint: setup
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest

proto: setup
	$(BIN)/python scripts/gen_proto.py

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	(echo "# Exact versions of every dependency, for reproducible installs: make lock regenerates it."; \
	 .lock-venv/bin/python -m pip freeze --exclude-editable) > requirements.lock
	rm -rf .lock-venv

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .galaxy .pytest_cache .mypy_cache .ruff_cache
