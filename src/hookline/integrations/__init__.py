"""One sub-package per external system; no database access in here."""
