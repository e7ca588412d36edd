"""Walk-evidence variants that did not beat the engine's sum (docs/RETRIEVAL.md,
"What was tried"): degree-normalised path scores and corroborated evidence,
TOPK at hops 1 over a corpus's links, recall of the held-out entries' linked
entries and similarity relative to TOPK at hops 0, and the sum at graph
weights 1, 3 and 10.

    PRECIS_DATA_DIR=data python3 bench/emu/walk_variants.py wordnet-small [queries]"""
import sys, numpy as np
from corp import load
from evald import run
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 200
b = run(D, {'topk': ('topk', 0)}, hops=0, nq=nq)['topk']
rules = [(f'sum, gw {g:g}', dict(agg='sum', gw=g)) for g in (1.0, 3.0, 10.0)]
for dn, dp, gw in (('src', 0.5, 6.0), ('src', 1.0, 6.0), ('dst', 0.5, 6.0), ('both', 0.5, 6.0)):
    rules.append((f'degree {dn}^{dp:g}, gw {gw:g}', dict(agg='sum', gw=gw, dn=dn, dp=dp)))
for dp, gw in ((0.3, 6.0), (0.6, 3.0)):
    rules.append((f'corroborated {dp:g}, gw {gw:g}', dict(agg='corr', gw=gw, dp=dp)))
for name, kw in rules:
    s, l, rc = run(D, {'topk': ('topk', 0)}, hops=1, nq=nq, nseeds=50, **kw)['topk']
    print(f"{D['name']}: {name:26s} recall {np.nanmean(rc) / np.nanmean(b[2]):.2f}x "
          f"at {100 * s.mean() / b[0].mean():.1f} % of TOPK's similarity", flush=True)
