"""Tools for developing the project itself (not used at run time)."""
