"""nstyle: neural style transfer by optimisation over the features of pretrained ImageNet CNNs.

``nstyle.transfer(content, style, **options) -> PIL.Image``; ``nstyle.run`` also returns the loss history
and takes a progress callback. The API is imported lazily so that the command line starts quickly.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "transfer": "engine", "run": "engine", "TransferOptions": "engine", "TransferResult": "engine",
    "StopOptimization": "optim", "IterationRecord": "optim", "run_paper": "paper",
    "NstyleError": "errors", "UsageError": "errors", "sweep": "strength_sweep", "match_color": "color",
    "recombine": "color",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'nstyle' has no attribute {name!r}")
