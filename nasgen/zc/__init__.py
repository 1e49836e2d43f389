"""Zero-cost proxies and the ZC vector z(x) = [NASWOT, SNIP-SSNR, params, FLOPs] (paper Section 4.1, Eq. 1).

Modules: common (batch, Gram matrices, SSNR, state guards), naswot, saliency (SNIP, synflow), tcet, zen,
zico, meco, swap, aznas (the state of the art's proxies), ensemble (rank aggregation over a population),
record (all proxies of one network with shared passes), scorer (seeded networks, failure rows).
"""

from nasgen.zc.common import ZCBatch, make_batch
from nasgen.zc.config import ZC_VECTOR
from nasgen.zc.record import STANDALONE, zc_record
from nasgen.zc.scorer import Scorer, seeded_network

__all__ = ["STANDALONE", "ZC_VECTOR", "Scorer", "ZCBatch", "make_batch", "seeded_network", "zc_record"]
