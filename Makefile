# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

# pip prints each package as it goes (a first install takes a few minutes).
$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> Creating $(VENV) and installing the pinned packages (a few minutes the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	touch $(STAMP)
	@echo "==> Installed."

install: $(STAMP)

# HOST and PORT (default 127.0.0.1:5000) place the app, SANDBOX_PORT (5001) the Stripe sandbox:
# `make run PORT=8080 SANDBOX_PORT=8081`. The sandbox posts its webhooks to the app's address.
run: install
	mkdir -p instance
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo seed --if-empty
	$(BIN)/python -m stripe_sandbox.devrun

# The suite runs twice: on SQLite, then on PostgreSQL (TEST_POSTGRES_URL's server; the tests
# create and drop a database of their own). Browser tests run in the first pass only.
test: install
	LEARNPAY_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)
	LEARNPAY_TEST_DB=postgresql $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

# The benchmarks of bench/README.md, one after the other (each needs the test PostgreSQL; the
# first needs wrk: apt-get install -y wrk); each prints its verdict, and make goes on to the
# next whatever the previous one said.
bench: install
	-$(BIN)/python bench/bench_requests.py
	-$(BIN)/python bench/bench_checkout.py
	-$(BIN)/python bench/bench_webhooks.py
	-$(BIN)/python bench/bench_analytics.py

clean:
	rm -rf $(VENV) .pytest_cache
