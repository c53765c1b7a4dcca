"""Every query of the application, one module per aggregate.

Functions take a ``Session`` and never commit: the unit of work (one command, one
orchestrator step, one API request) commits once.
"""
