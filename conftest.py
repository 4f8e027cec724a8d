"""Session set-up shared by the test suite and nbval's notebook runs."""

import os


def pytest_configure(config):
    # nbval cannot pass papermill parameters; the notebooks read the profile from here.
    os.environ.setdefault("LABKIT_PROFILE", "smoke")
    # Kernels start in notebooks/, so a relative data root must be made absolute first.
    root = os.environ.get("LABKIT_DATA")
    if root and not os.path.isabs(root):
        os.environ["LABKIT_DATA"] = os.path.abspath(root)
