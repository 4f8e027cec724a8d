# Every target creates and uses the virtual environment .venv in this folder.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.labkit-installed
# Extra options for `make lab`, e.g. LAB_ARGS="--overwrite" or LAB_ARGS="--per-class 1000 --epochs 2"
LAB_ARGS ?=

.PHONY: setup test lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[notebooks,test]'
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# The lab recipe, headless: VGG16 (20 epochs) then ResNet50 (15 epochs) into runs/.
lab: $(STAMP)
	$(PY) -m labkit train --model vgg16 --out runs/vgg16 --download $(LAB_ARGS)
	$(PY) -m labkit train --model resnet50 --out runs/resnet50 --download $(LAB_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
