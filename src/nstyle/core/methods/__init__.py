"""One module per method (``catalog.METHODS``): each builds a level's objective (or paints) from the losses in
``nstyle.core``, and nothing else."""
