# 3Node storage (runtime/storage, tfw store; docs/storage.md). redis-cli (Debian's
# redis-tools) drives the shard backend in test/integration/storage/redis-cli.test.ts.
SYSDEPS += redis-tools

.PHONY: test-storage
# Only the storage tests: unit (codec, log, metadata) then the backend scenarios.
test-storage: deps
	TFW_TEST_FILTER='(unit|integration)/storage/' $(NODE) --import tsx test/run.mjs unit integration
