"""Periodic work of the exams app: none of its own. Closing windows and the ranked allocation of exam sessions
are the capacity engine's periodic job (``bookings.applications_allocate``, every 5 minutes); a no-show is
recorded as a fail by the outbox handler in ``exams.handlers``."""
