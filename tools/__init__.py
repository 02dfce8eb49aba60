"""Developer tools run by hand (never by the app): e.g. `python -m tools.build_demo`."""
