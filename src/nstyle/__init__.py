"""nstyle: neural style transfer by optimisation over the features of pretrained ImageNet CNNs.

``nstyle.transfer(content, style, **options) -> PIL.Image``; ``nstyle.run`` also returns the loss history
and takes a progress callback. The API is imported lazily so that the command line starts quickly.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "transfer": "core.engine", "run": "core.engine", "TransferOptions": "core.options",
    "TransferResult": "core.engine", "StopOptimization": "core.optim", "IterationRecord": "core.optim",
    "run_paper": "eval.paper", "NstyleError": "errors", "UsageError": "errors", "sweep": "eval.sweep",
    "match_color": "core.color", "recombine": "core.color", "auto_maps": "core.engine",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'nstyle' has no attribute {name!r}")
