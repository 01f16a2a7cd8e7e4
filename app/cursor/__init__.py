"""Everything about Cursor's upstream service, as a library.

Nothing in this package imports Flask or knows about token files, logs or config pages
(DESIGN.md). The gateway's services call it; tests exercise it against the vectors in
shared/vectors and against the fake service in tests/fake_cursor.
"""
