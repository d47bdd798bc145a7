"""Registrations of eligibility rules, held-material providers and outputs (see applications/hooks.py).

Every module in this package is imported before the catalogue loads: add one module per service family
(e.g. ``truck_pass.py``) holding that family's ``@eligibility_rule`` / ``@held_material`` / ``@output`` functions.
"""
