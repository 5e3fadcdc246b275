"""Shared machinery with no I/O: API errors, label and field selectors, time formats, quantities,
object keys (`keys`), the injected `Clock` (`clock`), token buckets and backoff (`backoff`).

May import: the standard library only.
"""
