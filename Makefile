# A thin wrapper: each target runs one script of deploy/local/, which does the
# work (see deploy/README.md).
SHELL := /bin/bash
# cmake --build runs make too: keep its output free of directory noise.
MAKEFLAGS += --no-print-directory

.PHONY: help run test test-ha faults bench build fuzz clean

help:
	@echo "make run    build, start PostgreSQL and every Bulwark process on 127.0.0.1, print the URL and a demo API key"
	@echo "make test   release and ASan+UBSan builds: unit tests, then integration and e2e tests against a throwaway stack"
	@echo "make test-ha PostgreSQL failover under write load (pg_auto_failover: monitor, primary, synchronous standby)"
	@echo "make faults kill -9 and SIGTERM of each process under load, a slow client, an RSS soak (BULWARK_SOAK_SECONDS)"
	@echo "make bench  measure the stack started by make run beside nginx and grpc-gateway (deploy/README.md)"
	@echo "make build  the release build only (build/)"
	@echo "make fuzz   libFuzzer targets with clang, each for BULWARK_FUZZ_SECONDS (60)"
	@echo "make clean  remove build/ and build-asan/ (not the data in .bulwark/)"

run:
	@bash deploy/local/run.sh

test:
	@bash deploy/local/test.sh

test-ha:
	@bash deploy/local/ha.sh

faults:
	@bash deploy/local/faults.sh

bench:
	@bash deploy/local/bench.sh

build:
	@bash deploy/local/build.sh

fuzz:
	@bash fuzz/run.sh

clean:
	rm -rf build build-asan build-fuzz
