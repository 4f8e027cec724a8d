# Every target creates and uses the virtual environment .venv in this folder.
PYTHON ?= python3
# Notebooks run in notebooks/, so a relative data root is made absolute here.
ifdef LABKIT_DATA
export LABKIT_DATA := $(abspath $(LABKIT_DATA))
endif
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.labkit-installed
# Extra options for `make lab`, e.g. LAB_ARGS="--overwrite" or LAB_ARGS="--per-class 1000 --epochs 2"
LAB_ARGS ?=

.PHONY: setup test report notebooks lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[notebooks,test]'
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# The main job: both lab notebooks headless with papermill, then report/index.html.
# Profile from $$LABKIT_PROFILE (full, quick, smoke); more options: REPORT_ARGS="-p epochs 3".
REPORT_ARGS ?=
report: $(STAMP)
	$(PY) -m labkit report $(REPORT_ARGS)

# Re-execute the committed notebooks in place (their stored outputs), e.g. LABKIT_PROFILE=quick make notebooks
notebooks: $(STAMP)
	cd notebooks && for nb in vgg16_lab.ipynb resnet50_lab.ipynb; do \
		../$(PY) -m papermill --log-output --cwd . $$nb $$nb || exit 1; done

# The lab recipe through the command line instead of the notebooks, into runs/.
lab: $(STAMP)
	$(PY) -m labkit train --model vgg16 --out runs/vgg16 --download $(LAB_ARGS)
	$(PY) -m labkit train --model resnet50 --out runs/resnet50 --download $(LAB_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
