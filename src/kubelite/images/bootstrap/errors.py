"""Errors of `kubelite image bootstrap`.

Hierarchy::

    ImageError (kubelite.images.errors)
      BootstrapError    -- mmdebstrap missing or failing (its output's tail in the message),
                           an unknown image name, a base image that could not be made
"""

from __future__ import annotations

from ..errors import ImageError


class BootstrapError(ImageError):
    pass
