"""Wire types and the scheme: which resources exist, their shapes, defaults and validation.

Pure: no I/O. May import: `kubelite.machinery`.
"""
