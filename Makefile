# Everything a newcomer or CI needs: `make demo` and `make test` each install what they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install lock accuracy bench bench-dedupe bench-incremental scale-proofs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One install of the pinned set (runtime + test tools) from the lock file, redone when the lock changes.
$(STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/peergroups demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Accuracy of schedule reading and listing classification on the labelled sets in tests/data/.
accuracy: $(STAMP)
	@for set in tests/data/schedule_phrasings*.jsonl; do echo "== $$set"; $(BIN)/python -m tests.benchmarks.schedule_accuracy $$set; done
	@for set in tests/data/listing_labels*.jsonl; do echo "== $$set"; $(BIN)/python -m tests.benchmarks.classify_accuracy $$set; done

# Speed benchmarks (print figures; never part of `make test`).
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.normalise_speed --profile

# Dedupe accuracy, time and memory (the generated sets are normalised once and cached in ~/.cache/peergroups-bench).
bench-dedupe: $(STAMP)
	$(BIN)/python -m tests.benchmarks.dedupe_benchmark --matcher both

bench-incremental: $(STAMP)
	$(BIN)/python -m tests.benchmarks.incremental

# Local proofs of docs/scaling.md (Dask + work pool, scrapy-redis, Splink on Spark, partitioned Parquet on S3).
# Not part of `make test`: ~7 minutes on 2 cores; needs Java 17 (Spark) and Debian's redis-server.
SCALE_PROOF_PACKAGES := "prefect-dask==0.3.7" "dask==2026.8.0" "distributed==2026.8.0" "scrapy-redis==0.9.1" \
	"pyspark==4.3.0" "rapidfuzz==3.14.6" "moto[server]==5.2.5" "s3fs==2026.9.0" "boto3==1.43.117"

scale-proofs: $(STAMP)
	$(BIN)/python -m pip install --quiet $(SCALE_PROOF_PACKAGES)
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)
	$(BIN)/python -m tests.scaling.prefect_dask_crawl
	$(BIN)/python -m tests.scaling.redis_crawl
	$(BIN)/python -m tests.scaling.spark_linkage
	$(BIN)/python -m tests.scaling.parquet_snapshot

# Re-pin after editing dependencies in pyproject.toml (needs network to the package index).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf $(VENV) data/warehouse.duckdb data/raw data/exports data/prefect
