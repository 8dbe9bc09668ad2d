"""The exit statuses of the ``nstyle`` command, named once: what scripts, batch drivers and the tests rely on.

A stop by a signal exits 128 + the signal's number, as a shell reports a process the signal ended."""

#: Everything asked for was done.
OK = 0
#: Something failed that the user cannot fix by changing the command line (some batch jobs, a non-finite loss).
FAILED = 1
#: The command line or an input was refused before any work (``nstyle.errors.UsageError``).
USAGE = 2
#: Stopped by Ctrl-C (SIGINT, 2): the best image so far is kept where there is one.
INTERRUPTED = 130
#: Stopped by SIGTERM (15: ``kill``, systemd, Docker, Ray), as cleanly as by Ctrl-C.
TERMINATED = 143
