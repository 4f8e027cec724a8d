"""Install, from a folder of wheels, only the distributions this Python does not have yet.

    python benchmarks/install_wheels.py .gpu/wheels /tmp/site

A GPU machine's image already holds PyTorch and much of the scientific stack;
installing a carried copy of those over it (an older jinja2 beside torch, say)
could break what works there, so only the missing ones go into TARGET, which
the caller puts on PYTHONPATH. Offline: pip never looks beyond the folder.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path


def project(wheel: Path) -> str:
    """The normalised project name in a wheel's file name (PEP 427 and PEP 503)."""
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


def installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        print(f"install_wheels: no wheels in {folder}; run benchmarks/gpu_prepare.sh first", file=sys.stderr)
        return 2
    missing = [wheel for wheel in wheels if not installed(project(wheel))]
    print(f"install_wheels: {len(wheels) - len(missing)} of {len(wheels)} already installed; "
          f"installing {', '.join(project(w) for w in missing) or 'nothing'} into {target}")  # fmt: skip
    if not missing:
        return 0
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
               "--no-cache-dir", "--target", str(target), *map(str, missing)]  # fmt: skip
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main())
