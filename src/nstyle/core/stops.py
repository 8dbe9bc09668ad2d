"""Why an optimisation stopped: one name for each reason, shared by the engine, the jobs and the interfaces.

A ``StrEnum``, so a reason is also its plain string (it compares equal to ``"completed"``, is written as such to
JSON and CSV files, and a callback's ``StopOptimization("cancelled")`` still reads as ``Stop.CANCELLED``).
"""

from enum import StrEnum


class Stop(StrEnum):
    COMPLETED = "completed"  # every iteration ran
    CONVERGED = "converged"  # the loss stopped improving (--tolerance)
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    CANCELLED = "cancelled"  # a job was cancelled (batch, web)
    NON_FINITE = "non-finite"  # the loss stopped being finite
    STOPPED = "stopped"  # a callback raised StopOptimization without a reason

    @classmethod
    def of(cls, reason: str) -> "Stop | str":
        """The reason as a member where it is one (a callback may give any text)."""
        try:
            return cls(reason)
        except ValueError:
            return reason
