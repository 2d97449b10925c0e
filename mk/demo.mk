# `make demo`: two 3router guests of BOARD on one loopback-backed link complete an
# overlay handshake and ping each other's overlay address, then power off
# (tfw boot --demo; docs/images.md "Demo"). Uses BOARD, BOOT_TIMEOUT, TFW_CLI from mk/image.mk.
.PHONY: demo
demo: deps sysdeps all
	$(TFW_CLI) build --board $(BOARD) --role 3router
	$(TFW_CLI) boot --demo --board $(BOARD) --role 3router --no-build --timeout $(BOOT_TIMEOUT)
