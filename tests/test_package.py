import importlib
import pkgutil

import labkit


def test_every_submodule_is_reachable_as_an_attribute():
    names = {info.name for info in pkgutil.iter_modules(labkit.__path__) if not info.name.startswith("_")}
    assert names == set(labkit._SUBMODULES)
    for name in names:
        assert getattr(labkit, name) is importlib.import_module(f"labkit.{name}")
