"""Shared machinery with no I/O: API errors, label and field selectors, time formats, quantities.

May import: the standard library only.
"""
