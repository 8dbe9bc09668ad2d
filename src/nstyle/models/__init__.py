"""Backbones, each registered with its weights record (see ``nstyle.weights``)."""

from . import vgg  # noqa: F401  (registers vgg19, vgg16)
from .base import CAFFE, INCEPTION, TORCH, Backbone, Preprocessing

__all__ = ["Backbone", "Preprocessing", "CAFFE", "TORCH", "INCEPTION"]
