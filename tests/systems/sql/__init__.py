"""System tests of the `sql` connector's writer against a real SQLite source database."""
