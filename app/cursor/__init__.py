"""Everything about Cursor's upstream service, as a library.

Nothing in this package imports Flask or knows about token files, logs or config pages
(docs/ARCHITECTURE.md). The gateway's services call it; tests exercise it against the vectors in
tests/vectors and against the fake service in tests/fake_cursor.
"""
