"""The ``nstyle`` subcommands, one module each: ``add(sub)`` declares the parser, ``cmd_*`` runs it; what they
share (the parser class, the transfer flags) is in ``options``.

Nothing is imported here, so that ``nstyle.cli`` loads only the parsers, and each command imports its work (and
torch) only when it runs. The library never imports this package (tests/test_structure.py)."""
