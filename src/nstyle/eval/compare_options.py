"""Which transfer options a comparison of backbones (``nstyle.eval.compare``) settles itself, named once for the
command line and the web form. Torch-free, so ``nstyle compare --help`` reads it without loading the comparison."""

#: Chosen per network by the comparison, or meaningless across networks (one network's layers or weights file):
#: a comparison never takes them.
PER_NETWORK = frozenset({"model", "weights", "content_layers", "style_layers", "style_layer_weights"})
#: The comparison's own keywords (``compare(size=..., iterations=..., seed=..., device=...)``, with defaults of
#: their own): an interface offers them as the comparison's settings, not as transfer options passed through.
OWN_SETTINGS = frozenset({"size", "iterations", "seed", "device"})
#: Every transfer option a comparison does not pass through to each network's transfer as it is.
COMPARE_FIXED = PER_NETWORK | OWN_SETTINGS
