"""The ``nstyle`` subcommands, one module each: ``add(sub)`` declares the parser, ``cmd_*`` runs it.

Nothing is imported here, so ``nstyle.batch`` can reach ``options`` without loading every command."""
