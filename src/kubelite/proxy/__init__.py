"""The Service proxy (kube-proxy in `nftables` mode): Services and EndpointSlices become one
nftables table on the node (or inside a node's network namespace).

Pure core, I/O at the edges:

- `servicemap`: Services and EndpointSlices -> `ServicePort`s and `Endpoint`s, endpoint
  categorization by traffic policy (pure).
- `ruleset`: the values a table is made of (`Ruleset`, `SetSpec`, `Element`, `Transaction`,
  `KernelState`), kube-proxy's chain and map names and its hashed chain names (pure).
- `render`: the table as a `Ruleset` in kube-proxy's layout (verdict maps, per service port and
  per endpoint chains), and the `nft` scripts of a full resync or of the minimal incremental
  transaction between two rulesets (pure).
- `conntrack`: which stale UDP conntrack entries a sync calls for (pure), and the `Conntrack`
  seam (`conntrack` CLI, fake).
- `nftables`: the `Nft` seam (`nft -f -` via asyncio subprocess, optionally in a netns; fake)
  and the `Applier` (full/incremental choice, stale-chain deletion, conntrack cleanup; fake).
- `proxier`: `Proxier(client, node_name, ...).run()`: informers, rate-limited syncs, retries
  with backoff, programming-latency metric, table deleted on stop.

Needs the `nft` binary (Debian `nftables`), `conntrack` (Debian `conntrack`) for UDP cleanup,
and `nsenter` (util-linux) when given a network namespace.

May import: `kubelite.client`, `kubelite.machinery`; subprocesses only via asyncio.
"""

from .nftables import Applier, FakeApplier, FakeNft, NftablesApplier, NftCommand, NftError
from .proxier import Proxier
from .render import RenderOptions, Ruleset

# (the functions `render`, `render_full`, `render_incremental` are imported from `.render`: a
# package attribute named like the submodule would hide it)
__all__ = ["Applier", "FakeApplier", "FakeNft", "NftCommand", "NftError", "NftablesApplier", "Proxier",
           "RenderOptions", "Ruleset"]
