"""Registrations of eligibility rules, held-material providers and outputs (see applications/hooks.py).

Every module in this package is imported before the catalogue loads: add one module per service family
(e.g. ``truck_pass.py``) holding that family's ``@eligibility_rule`` / ``@held_material`` / ``@output`` functions.

Imports: the one cycle here is hooks ⇄ plugins (every module imports hooks to register; hooks.load_plugins imports
the modules). It is broken in time, not by function-level imports: load_plugins runs when the catalogue is first
loaded, after every module it needs is in place, so the modules import the engine and other apps at the top.
"""
