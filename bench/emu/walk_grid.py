"""The walk's graph weight and expansion width per corpus (docs/RETRIEVAL.md,
"What was tried"): TOPK at hops 1 (sum of path scores, 50 seeds) expanding
from the 10 or 30 best seeds at graph weights 1-30; recall of the held-out
entries' linked entries and similarity relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/walk_grid.py wordnet-rel [queries]"""
import sys, numpy as np
from corp import load
from evald import run
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
b = run(D, {'topk': ('topk', 0)}, hops=0, nq=nq)['topk']
for E in (10, 30):
    for gw in (1.0, 3.0, 10.0, 30.0):
        s, l, rc = run(D, {'topk': ('topk', 0)}, hops=1, nq=nq, nseeds=50, E=E, agg='sum', gw=gw)['topk']
        print(f"{D['name']}: E {E} gw {gw:4g} recall {np.nanmean(rc)/np.nanmean(b[2]):.2f}x at {100*s.mean()/b[0].mean():.1f} %", flush=True)
