"""The analogy at hop 2 too? The walk (bench/emu/design.py) at hops 2, TOPK,
graph weight 3, with the analogy at no hop, at hop 1 (the engine's rule)
or at hops 1 and 2; recall of the held-out entries' linked entries and
similarity relative to TOPK at hops 0 (docs/RETRIEVAL.md, "Analogy").

    PRECIS_DATA_DIR=data python3 bench/emu/analogy_hops.py manpages [queries]"""
import sys, numpy as np
from corp import load
from evald import run
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
b = run(D, {'topk': ('topk', 0)}, hops=0, nq=nq)['topk']
for ana in (0, 1, 2):
    s, l, rc = run(D, {'topk': ('topk', 0)}, hops=2, nq=nq, nseeds=50, E=10, agg='sum', gw=3.0, ana=ana)['topk']
    print('%s: hops 2, analogy at hops <= %d: recall %.3fx at %.2f %%' % (D['name'], ana, np.nanmean(rc) / np.nanmean(b[2]), 100 * s.mean() / b[0].mean()), flush=True)
