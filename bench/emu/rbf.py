"""A Gaussian (RBF) cosine kernel for COMPRESS's log-det (docs/RETRIEVAL.md,
"What was tried"): exp(beta (cos - 1)), beta 2-20, half and half with the
shared kNN neighbours, theta 2 or 8, against the engine's kernel (half
cosine, half shared neighbours, theta 2); pool 50, k 10, floor 0.975.

    PRECIS_DATA_DIR=data python3 bench/emu/rbf.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); Cos = p['Cos']; N = p['N']; args = (p['labs'], p['m0'], p['l0'])
    tally(R, 'engine', p['s'], select(p['s'], 0.5 * Cos + 0.5 * N, 0.975, 2, 'ld'), *args)
    for beta in (2, 5, 10, 20):
        Kr = np.exp(beta * (Cos - 1))
        for th in (2, 8):
            tally(R, 'rbf %g th %g' % (beta, th), p['s'],
                  select(p['s'], 0.5 * Kr + 0.5 * N, 0.975, th, 'ld'), *args)
report(R, D['name'], 16)
