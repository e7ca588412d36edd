"""Selection rules of Precis in NumPy (TOPK, MMR, COMPRESS / greedy log-det),
for design studies on the study corpora. Not the engine: index/select*.c is."""
import numpy as np

# ---------- selection ----------
def topk(rel,K,k): return list(np.argsort(-rel,kind='stable')[:k])

def mmr(rel,K,k,lam):
    S=[int(np.argmax(rel))]; mx=K[S[0]].copy()
    while len(S)<k:
        s=lam*rel-(1-lam)*mx; s[S]=-1e9; j=int(np.argmax(s)); S.append(j); mx=np.maximum(mx,K[j])
    return S

def compress(rel,K,k,a,b,c,theta,wcov=None):
    n=len(rel); q=np.exp(theta*rel); wc=rel if wcov is None else wcov
    best=np.zeros(n); Cf=np.zeros((n,k)); d2=1+q*q; S=[]
    for t in range(k):
        cov=(wc[:,None]*np.maximum(0,K-best[:,None])).sum(0) if b>0 else 0
        vol=np.log(np.maximum(d2,1.0)) if c>0 else 0
        g=a*rel+b*cov+c*vol; g=np.array(g,dtype=float)*np.ones(n); g[S]=-1e18
        j=int(np.argmax(g)); S.append(j)
        best=np.maximum(best,K[:,j])
        if c>0:
            dj=np.sqrt(max(d2[j],1.0)); L=q[j]*q*K[j]
            e=(L-Cf[:,:t]@Cf[j,:t])/dj; Cf[:,t]=e; d2=d2-e*e
    return S

def logdet_greedy(sim,K,k,theta):
    return compress(sim,K,k,0,0,1,theta)

