# Set-up and the two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.shoprank-installed
# CPU build of torch; install it before the project or pip resolves a multi-GB CUDA build.
# GPU machines: install your CUDA torch into $(VENV) first; this step then keeps it.
TORCH_CPU := torch==2.13.0

.PHONY: install demo test compile clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH_CPU)
	$(BIN)/python -m pip install -e ".[runtime,dev]"
	touch $(STAMP)

install: $(STAMP)

# The gate never blesses without a threshold; 0.9 (the model reaches about 0.98 on the sample)
# lets the demo go on to deploy and canary. A second `make demo` canaries against the first.
demo: install
	$(BIN)/shoprank run --out shoprank-out --min-ndcg 0.9

test: install
	$(BIN)/python -m pytest

compile: install
	$(BIN)/shoprank compile --output train_and_deploy.yaml

clean:
	rm -rf shoprank-out train_and_deploy.yaml .pytest_cache
