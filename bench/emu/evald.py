"""Runs rows of (mode, parameter) over a corpus's held-out queries with design.retr;
returns per-query similarity, distinct labels and recall of linked entries."""
import sys, numpy as np
from corp import load
from emu import mmr, compress, logdet_greedy
from design import retr
k=10
def theta(d,mid=5.0,R=12.0): return min(64.0, mid*R**(1-2*d))  # select_theta_for_diversity
def sel(mode,qual,rel,K,p):
    if mode=='topk': return list(np.argsort(-rel,kind='stable')[:k])
    if mode=='mmr': return mmr(qual,K,k,p)
    if mode=='cmp': return list(np.argsort(-rel,kind='stable')[:k]) if p<=0 else compress(qual,K,k,0,0,1,theta(p))
    if mode=='ld': return logdet_greedy(qual,K,k,p)
def run(D,cfgs,hops=0,nq=150,**kw):
    res={}
    for name,(mode,p) in cfgs.items(): res[name]=[[],[],[]]
    for qi in range(min(nq,len(D['Q']))):
        ids,sim,rel,qual,hop=retr(D,qi,hops=hops,**kw); V=D['X'][ids]; K=V@V.T
        L=set(D['qlinked'][qi])
        for name,(mode,p) in cfgs.items():
            S=sel(mode,qual,rel,K,p); chosen=ids[S]
            res[name][0].append(sim[S].mean()); res[name][1].append(len({D['lab'][i] for i in chosen}))
            res[name][2].append(len(L&set(chosen.tolist()))/len(L) if L else np.nan)
    return {n:(np.array(a),np.array(b),np.array(c)) for n,(a,b,c) in res.items()}
