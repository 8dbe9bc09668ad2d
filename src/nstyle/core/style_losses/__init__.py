"""One module per style loss (``catalog.STYLE_LOSSES``): each builds its loss's plain, guided and tiled forms from the
maths in ``nstyle.core.gram``, ``distributions`` and ``tiling``, and nothing else."""
