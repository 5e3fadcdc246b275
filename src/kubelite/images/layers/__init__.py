"""Layer tars: safe extraction into overlay-form directories, reproducible writing, upper → layer.

- `apply`: `apply_layer(stream, dest, lowers)` (whiteouts → char 0/0, opaque → xattr, no escapes).
- `writer`: `LayerWriter` (tar → gzip with both digests in one pass), `write_tree`, `write_upper`.
- `tarstream`: compression detection and hashing streams.

Blocking code: callers run it with `asyncio.to_thread`. May import: `kubelite.images.errors`.
"""

from .apply import ApplyResult, apply_layer
from .writer import LayerDigests, LayerWriter, new_entry, write_tree, write_upper

__all__ = ["ApplyResult", "apply_layer", "LayerDigests", "LayerWriter", "new_entry", "write_tree", "write_upper"]
