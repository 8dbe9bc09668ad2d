"""Where a job stands: one name for each state, shared by batch, the executors and the web queue.

A ``StrEnum`` like ``nstyle.core.stops.Stop``: a state is also its plain string, so results.csv, the web's job
records and the API's JSON keep the words they always had (``"done"``, ``"failed"``, ...), and a state read back
from them compares equal to its member."""

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"  # the web queue holds it; nothing ran yet
    RUNNING = "running"  # a worker is painting it
    DONE = "done"  # finished: its image is written
    CANCELLED = "cancelled"  # stopped on request, with its image so far
    FAILED = "failed"  # its own error (a bad input or option, too little memory), or its worker was lost too often
    INTERRUPTED = "interrupted"  # the web server stopped while it was queued or running
    SKIPPED = "skipped"  # batch: an earlier run already made the same output from the same inputs and options


#: A web job in one of these states may still change.
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)
#: A web job in one of these states will not change again.
FINISHED = (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.INTERRUPTED)
#: A batch job in one of these states has its output: a rerun leaves it alone.
DONE_STATES = (JobStatus.DONE, JobStatus.SKIPPED)
