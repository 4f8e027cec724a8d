"""Time loading the lab's 3-class subset: a cold load (decode every JPEG) and a cached one.

    python benchmarks/data_load.py [--data ROOT]

The cold load uses a fresh temporary cache folder, so nothing the user has
cached is touched.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from labkit.data import data_root, load_lab_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data root (default: $LABKIT_DATA, else $XDG_CACHE_HOME/labkit/data, else ~/.cache/labkit/data)")
    parser.add_argument("--repeats", type=int, default=3, help="cached loads to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labkit-cache-") as cache:
        start = time.perf_counter()
        train, test = load_lab_data(root=args.data, cache_dir=cache)
        cold = time.perf_counter() - start
        warm = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            load_lab_data(root=args.data, cache_dir=cache)
            warm.append(time.perf_counter() - start)
    print(f"data root: {data_root(args.data)}")
    print(f"images: {len(train):,} train + {len(test):,} test")
    print(f"first load (decode + write cache): {cold:.2f} s")
    print(f"cached load: best {min(warm):.3f} s, worst {max(warm):.3f} s over {len(warm)} runs")


if __name__ == "__main__":
    main()
