"""A strict fake of Cursor's chat service, for tests and benchmarks (see README.md here)."""
