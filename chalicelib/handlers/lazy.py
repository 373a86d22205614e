"""Modules loaded on their first use rather than at the cold start.

A handler names the services it calls twice: under `if TYPE_CHECKING:` as ordinary imports, which readers,
type checkers and the import contracts follow, and at run time as `lazy_module("…")` proxies, so that a
function loads only the services of the routes it actually serves. tests/unit/test_layers.py checks that
the two name the same modules.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module that is imported on its first attribute access rather than at cold start.

    Not importlib's LazyLoader: on Python 3.11 two threads touching a LazyLoader module at once can see it
    half-executed (the local API server is threaded). This imports through the import system, whose
    per-module lock makes the first use thread-safe, and then just forwards."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attribute)

    def __setattr__(self, attribute: str, value: Any) -> None:
        setattr(importlib.import_module(self.__name__), attribute, value)


def lazy_module(name: str) -> ModuleType:
    """The module `name`, imported on its first attribute access rather than now (cold start)."""
    return sys.modules.get(name) or _LazyModule(name)
