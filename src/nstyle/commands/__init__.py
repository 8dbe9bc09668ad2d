"""The ``nstyle`` subcommands, one module each: ``add(sub)`` declares the parser, ``cmd_*`` runs it.

Nothing is imported here, so ``nstyle.jobs.batch`` can reach ``options`` without loading every command."""
