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

.PHONY: setup test report notebooks lab gpu-prepare clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[notebooks,test]'
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# The main job: both lab notebooks headless with papermill, then report/index.html.
# Profile from $$LABKIT_PROFILE (auto, full, quick, smoke; auto: full on CUDA, else quick);
# more options: REPORT_ARGS="-p epochs 3" or REPORT_ARGS="--seeds 0,1,2".
REPORT_ARGS ?=
report: $(STAMP)
	$(PY) -m labkit report $(REPORT_ARGS)

# The two labs' models and notebooks, as labkit/lab.py defines them.
LAB_MODELS = $(PY) -c 'from labkit.lab import LABS; print(*LABS)'
LAB_NOTEBOOKS = $(PY) -c 'from labkit.lab import LABS; print(*(lab.notebook for lab in LABS.values()))'

# The report, and its executed lab notebooks copied back into notebooks/: one execution in both
# (profile as for make report; REPORT_ARGS as well).
notebooks: $(STAMP)
	$(PY) -m labkit report --update-notebooks $(REPORT_ARGS)

# Both labs through the command line instead of the notebooks, into runs/<model> (profile as for make report).
lab: $(STAMP)
	for model in $$($(LAB_MODELS)); do \
		$(PY) -m labkit train --model $$model --out runs/$$model $(LAB_ARGS) || exit 1; done

# The folder benchmarks/gpu_check.sh carries to a GPU machine (README: "The GPU check").
gpu-prepare: $(STAMP)
	PYTHON=$(PY) bash benchmarks/gpu_prepare.sh

clean:
	rm -rf $(VENV) .pytest_cache
