"""retrieve() of index/retrieve/retrieve.c emulated: seeds, expansion from the E best seeds
with room per hop, relevance and cosine-unit quality. agg: 'sum' (the engine's
rule: r + gw * summed paths), 'max' (the best path, blended: the rule before
issue 10), 'sumlog', 'sumcap', 'noisyor', 'corr' (the best single path at
weight dp, the rest in full) (variants that were measured). dn: path scores
divided by the degree of the source ('src'), the target ('dst') or both,
to the power dp (measured, not used by the engine). tie: how the fanout
breaks ties between edges of equal weight, 'id' (the engine's) or 'sim'
(the target's similarity to the query; measured, not used). ana: the
hops (1..ana) at which an edge u -> v credits v's analogue (analogue())
instead of v."""
import numpy as np
def analogue(D,q,u,v,kappa=16):
    """The point among v and its kappa nearest (the kNN graph) nearest to
    q + v - u: the link u -> v carried over to the query."""
    X=D['X']; nb=D.setdefault('_knn',{})
    if v not in nb: sv=X@X[v]; nb[v]=np.argpartition(-sv,kappa+1)[:kappa+1]
    c=nb[v]; return int(c[np.argmax(X[c]@(q+X[v]-X[u]))])
def retr(D,qi,k=10,nseeds=None,pool=300,E=None,decay=0.9,gw=0.5,fanout=16,hops=0,agg='max',dn=None,dp=0.5,tie='id',ana=0):
    X=D['X']; q=D['Q'][qi]; s=X@q
    ns=nseeds or max(3*k,30); ns=min(ns,pool)
    if hops>0: ns=min(ns,pool-pool//2)
    E=min(E or k,ns)
    order=np.argsort(-s)[:ns]
    s1=s[order[0]]; sE=s[order[E-1]]; span=s1-sE
    own=lambda x:(x-sE)/span if span>0 else np.ones_like(x)
    P={int(i):0 for i in order}; g={int(i):max(0.0,float(own(s[i]))) for i in order}
    acc={}; bp={}
    frontier=[int(i) for i in order[:E]]; seeds_in=len(P)
    for h in range(1,hops+1):
        room=seeds_in+(pool-seeds_in)*h//hops; added=[]
        for u in frontier:
            for v,w in sorted(D['adj'][u],key=(lambda t:(-t[1],t[0])) if tie=='id' else (lambda t:(-t[1],-s[t[0]])))[:fanout]:
                if ana and h<=ana: v=analogue(D,q,u,v)
                gv=g[u]*w*decay
                if dn=='dst': gv/=max(1,len(D['adj'][v]))**dp
                elif dn=='src': gv/=max(1,len(D['adj'][u]))**dp
                elif dn=='both': gv/=(max(1,len(D['adj'][u]))*max(1,len(D['adj'][v])))**(dp/2)
                acc[v]=acc.get(v,0.0)+gv
                bp.setdefault(v,[]).append(gv)
                if v in P:
                    if agg=='noisyor' and P[v]>0: g[v]=1-(1-min(g[v],1))*(1-min(gv,1))
                    elif gv>g[v]: g[v]=gv
                elif len(P)<room: P[v]=h; g[v]=gv; added.append(v)
        frontier=sorted(added,key=lambda v:-g[v])
    ids=np.array(list(P)); hop=np.array([P[i] for i in ids]); gg=np.array([g[i] for i in ids]); sim=s[ids]
    r=own(sim)
    if agg=='sum':
        A=np.array([acc.get(int(i),0.0) for i in ids]); rel=r+gw*A
    elif agg=='sumlog':
        A=np.array([acc.get(int(i),0.0) for i in ids]); rel=r+gw*np.log1p(A)
    elif agg=='sumcap':
        A=np.array([acc.get(int(i),0.0) for i in ids]); rel=r+gw*np.minimum(A,1.5)
    elif agg=='corr':  # evidence beyond the best single path counts fully; the best path at weight dp
        A=np.array([ (lambda L: (sum(L)-max(L))+dp*max(L))(bp.get(int(i),[0.0])) for i in ids]); rel=r+gw*A
    else: rel=(1-gw)*r+gw*np.maximum(r,gg)
    cs=sim[:E]; cspan=cs.max()-cs.min()
    qual=sim+cspan*(rel-r)
    return ids,sim,rel,qual,hop
