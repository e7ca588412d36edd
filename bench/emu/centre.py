"""Centred and whitened cosines in COMPRESS's log-det kernel (docs/
RETRIEVAL.md, "What was tried and not kept"): the redundancy of two pool
points measured on x - b * mu (mu the collection's mean vector, b 0.25-1)
or on (x - mu) W with W = Sigma^(-a/2) (Sigma the collection's covariance,
a 0.5 or 1), half and half with the shared kNN neighbours as in the engine,
against the engine's raw cosine; theta 1 or 2, pool 50, k 10, floor 0.975;
labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/centre.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
X = D['X']; mu = X.mean(0); ev, U = np.linalg.eigh((X - mu).T @ (X - mu) / len(X)); ev = np.maximum(ev, 1e-9)
T = {'centred b %.2f' % b: (lambda V, b=b: V - b * mu) for b in (0.25, 0.5, 0.75, 1.0)}
for a in (0.5, 1.0):
    W = U @ np.diag(ev ** (-a / 2)) @ U.T
    T['whitened a %.1f' % a] = lambda V, W=W: (V - mu) @ W
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); N = p['N']
    cfg = {'engine (raw cosine)': (0.5 * p['Cos'] + 0.5 * N, [2])}
    for nm, f in T.items():
        V = f(p['V']); V = V / (np.linalg.norm(V, axis=1, keepdims=True) + 1e-12)
        cfg[nm] = (0.5 * (V @ V.T) + 0.5 * N, [1, 2])
    for nm, (K, ths) in cfg.items():
        for th in ths:
            tally(R, '%-19s theta %g' % (nm, th), p['s'], select(p['s'], K, 0.975, th, 'ld'), p['labs'], p['m0'], p['l0'])
report(R, D['name'], 28)
