"""nstyle: neural style transfer by optimisation over the features of pretrained ImageNet CNNs."""

__version__ = "0.1.0"
