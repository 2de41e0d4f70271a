"""Everything that leaves the building: the outbox, SMS senders, RQ jobs and their schedule."""
