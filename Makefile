# Everything a fresh machine needs: `make demo` and `make test` create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO := out/tubingen_starry_night.jpg

.PHONY: demo test lint bench clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	mkdir -p out
	$(BIN)/impasto transfer examples/tubingen.jpg examples/starry_night.jpg -o $(DEMO) --seed 0
	@echo "The painting is in $(DEMO)"

test: $(INSTALLED)
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) out .cache .pytest_cache
