"""A one-command benchmark of the gateway against a pass-through relay (the floor) and the
fake Cursor service itself: `python -m bench [--smoke | --quick]` (README.md, "Benchmark")."""
