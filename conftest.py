"""Session set-up shared by the test suite and nbval's notebook runs."""

import os
import shutil
import tempfile


def pytest_configure(config):
    # Runs the notebooks make without an output folder go here, not into notebooks/runs.
    if not os.environ.get("LABKIT_RUNS"):
        os.environ["LABKIT_RUNS"] = config._labkit_runs = tempfile.mkdtemp(prefix="labkit-test-runs-")
    # nbval cannot pass papermill parameters; the notebooks read the profile from here.
    os.environ.setdefault("LABKIT_PROFILE", "smoke")
    # Tests, and the notebooks nbval runs, never download CIFAR-10; the download tests unset this.
    os.environ["LABKIT_OFFLINE"] = "1"
    # nbval's notebook runs have no front end for widget progress bars.
    os.environ.setdefault("LABKIT_PROGRESS", "none")
    # Kernels start in notebooks/, so a relative data root must be made absolute first.
    root = os.environ.get("LABKIT_DATA")
    if root and not os.path.isabs(root):
        os.environ["LABKIT_DATA"] = os.path.abspath(root)


def pytest_unconfigure(config):
    runs = getattr(config, "_labkit_runs", None)
    if runs:
        shutil.rmtree(runs, ignore_errors=True)
        del os.environ["LABKIT_RUNS"]
