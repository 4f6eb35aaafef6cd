# Everything a fresh machine needs: `make demo` and `make test` create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO := out/tubingen_starry_night.jpg
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench browser serve clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	mkdir -p out
	$(BIN)/impasto transfer examples/tubingen.jpg examples/starry_night.jpg -o $(DEMO) --seed 0
	@echo "The painting is in $(DEMO)"

# The web page's tests drive Debian's Chromium (Playwright's own browser download is not
# reachable here). Installed where it is missing and we are root; elsewhere those tests skip.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else \
	    echo "no $(CHROMIUM), and no root to install it (apt-get install chromium): the browser tests will skip"; \
	  fi; }

test: $(INSTALLED) browser
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/python -m pytest -q

serve: $(INSTALLED)
	$(BIN)/impasto serve

bench: $(INSTALLED)
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) out .cache .pytest_cache
