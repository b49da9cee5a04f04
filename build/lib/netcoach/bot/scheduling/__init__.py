"""Due items, delivered at least once: the job queue, the scheduler task and the hand-over.

queue      the jobs table and its states (the only code that knows them)
scheduler  one task that sleeps until the earliest job, claims, sends and records it
handover   jobs that could not be pushed, shown in the reply when their user next writes
"""

from .handover import HandOver
from .queue import Job, JobQueue, NextJob, Outcomes
from .scheduler import Due, DueSource, Outgoing, Scheduler, Sender, delivery_key

__all__ = [
    "Due",
    "DueSource",
    "HandOver",
    "Job",
    "JobQueue",
    "NextJob",
    "Outcomes",
    "Outgoing",
    "Scheduler",
    "Sender",
    "delivery_key",
]
