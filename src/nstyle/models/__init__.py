"""Backbones (``base`` and one module per network), their records (``registry``) and weights (``weights``).

Nothing is imported here: ``nstyle.models.registry`` lists the networks without torch, and each network's
module is imported only when its record builds it. ``Backbone``, ``Preprocessing`` and the preprocessings
are still reachable as ``nstyle.models.<name>``, importing ``base`` on first use.
"""

_BASE_EXPORTS = ("Backbone", "Preprocessing", "CAFFE", "TORCH", "INCEPTION")
__all__ = list(_BASE_EXPORTS)


def __getattr__(name: str):
    if name in _BASE_EXPORTS:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module 'nstyle.models' has no attribute {name!r}")
