"""How often the analogy changes a link's end (docs/RETRIEVAL.md,
"Analogy"): over the links of the 10 best seeds (fanout 16), 100 held-out
queries, the share of links whose analogue (bench/emu/design.py) is not v,
and among those how often the analogue, and how often v, is one of the
held-out entry's linked entries.

    PRECIS_DATA_DIR=data python3 bench/emu/analogy_share.py manpages"""
import sys, numpy as np
from corp import load
from design import analogue
D=load(sys.argv[1]); X=D['X']; adj=D['adj']; tot=0; ch=0; chl=0; vl=0
for qi in range(100):
    q=D['Q'][qi]; s=X@q; o=np.argsort(-s)[:10]; L=set(D['qlinked'][qi])
    for u in o:
        for v,w in sorted(adj[u],key=lambda t:(-t[1],t[0]))[:16]:
            x=analogue(D,q,int(u),v); tot+=1; ch+=x!=v; chl+=(x!=v and x in L); vl+=(x!=v and v in L)
print(D['name'],'edges %d, analogue differs %.1f %%; of those, analogue linked %.1f %%, v linked %.1f %%'%(tot,100*ch/tot,100*chl/max(ch,1),100*vl/max(ch,1)))
