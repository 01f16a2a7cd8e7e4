"""Command-line tools for operators (run with `python -m app.tools.<name>`)."""
