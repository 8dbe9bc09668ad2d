"""The command line's parts. Nothing is imported here, so ``nstyle.batch`` can reach ``options`` alone."""
