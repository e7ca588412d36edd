"""How many kNN neighbours the shared-neighbour sets of COMPRESS's kernel
should hold (docs/RETRIEVAL.md, "What was tried and not kept"): each pool
point's 8, 16 (the collections' default kNN degree) or 32 nearest, plus
itself; half cosine, half shared neighbours, theta 2, pool 100, k 10,
floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/kappa.py manpages [queries]"""
import sys
import floor
from corp import load
from floor import select, tally, report
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    for K in (8, 16, 32):
        floor.KAPPA = K
        p = floor.pool(D, qi, 100)
        S = select(p['s'], 0.5 * p['Cos'] + 0.5 * p['N'], 0.975, 2, 'ld')
        tally(R, 'kappa %d' % K, p['s'], S, p['labs'], p['m0'], p['l0'])
report(R, D['name'], 10)
