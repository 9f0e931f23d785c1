"""Strategy plugins: mitogen's, without its CPU pinning (see mitogen_unpinned.py)."""
