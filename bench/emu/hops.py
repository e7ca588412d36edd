"""The "best path or sum" table of docs/RETRIEVAL.md: TOPK at hops 1 over a
corpus's links under each scoring rule, recall of the held-out entries'
linked entries and similarity, both relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/hops.py manpages [--queries 150]

Needs python3-numpy and the corpora of `make data-quality`."""
import sys, numpy as np
from corp import load
from evald import run
D=load(sys.argv[1]); nq=int(sys.argv[3]) if len(sys.argv)>3 and sys.argv[2]=='--queries' else 150
b=run(D,{'topk':('topk',0)},hops=0,nq=nq)['topk']
rules=[('best path, gw 0.5',dict(agg='max',gw=0.5)),('best path, gw 0.7',dict(agg='max',gw=0.7)),
       ('sum, gw 1',dict(agg='sum',gw=1.0)),('sum, gw 2',dict(agg='sum',gw=2.0)),('sum, gw 3',dict(agg='sum',gw=3.0))]
for name,kw in rules:
    s,l,rc=run(D,{'topk':('topk',0)},hops=1,nq=nq,**kw)['topk']
    print(f"{D['name']}: {name:18s} recall {np.nanmean(rc)/np.nanmean(b[2]):.2f}x at {100*s.mean()/b[0].mean():.1f} % of TOPK's similarity")
