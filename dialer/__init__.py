"""The running system: settings, command line, engine, pacing and agents."""
