# The web console (console/, docs/console.md): preact + uPlot bundled by esbuild
# into build/console/ (index.html, assets/console.js, assets/console.css), which
# the device API serves at / and images carry in /usr/lib/tfw/console/.
# test/integration/console.test.ts and test/image/console.test.ts drive it in
# Debian's headless chromium (already in SYSDEPS through mk/bench.mk).
CONSOLE_SRC := $(wildcard console/*.ts console/*.tsx console/*.css console/*.html console/pages/*.tsx)
CONSOLE_OUT := build/console/index.html build/console/assets/console.js

.PHONY: console console-check
all: console
console: $(CONSOLE_OUT)

build/console/assets/console.js: $(CONSOLE_SRC) package-lock.json | deps
	npx esbuild console/main.tsx --bundle --minify --format=esm --target=es2020 \
	  --jsx=automatic --jsx-import-source=preact \
	  --outfile=$@ --log-level=warning
build/console/index.html: console/index.html
	@mkdir -p $(@D)
	cp $< $@

# The console has its own tsconfig (DOM, JSX); `make check` type-checks it too.
check: console-check
console-check: | deps
	npx tsc -p console/tsconfig.json
