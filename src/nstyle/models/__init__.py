"""Backbones, each registered with its weights record (see ``nstyle.models.weights``).

Importing a module registers its records; the order here is the order of `nstyle models`: the seed
paper's four networks first, then the small ones.
"""

from . import vgg  # noqa: F401, I001
from . import resnet  # noqa: F401
from . import inception  # noqa: F401
from . import squeezenet  # noqa: F401
from . import alexnet  # noqa: F401
from .base import CAFFE, INCEPTION, TORCH, Backbone, Preprocessing

__all__ = ["Backbone", "Preprocessing", "CAFFE", "TORCH", "INCEPTION"]
