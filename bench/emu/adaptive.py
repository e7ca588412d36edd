"""A θ per query for COMPRESS's log-det: the lowest θ on a ladder whose
greedy set, chosen without the floor, still meets the floor (the
similarity budget spent by the objective's own trade-off rather than by
the floor's look-ahead), else the engine's θ 2 under the floor; against the
engine (θ 2, floor 0.975). Kernel: half cosine, half shared neighbours;
pool 50, k 10; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/adaptive.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50; F = 0.975; k = 10
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
LADDERS = {'64..0.25': [64, 32, 16, 8, 4, 2, 1, 0.5, 0.25], '64..1': [64, 32, 16, 8, 4, 2, 1],
           '64..0': [64, 32, 16, 8, 4, 2, 1, 0.5, 0.25, 0]}
R = {}; used = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); s = p['s']; K = 0.5 * p['Cos'] + 0.5 * p['N']; m0 = p['m0']
    tally(R, 'engine theta 2', s, select(s, K, F, 2, 'ld'), p['labs'], m0, p['l0'])
    free = {}
    for nm, lad in LADDERS.items():
        best = None
        for th in lad:
            if th not in free: free[th] = select(s, K, 0.0, th, 'ld')
            if s[free[th]].mean() >= F * m0 - 1e-7: best = th
            else: break
        S = free[best] if best is not None else select(s, K, F, 2, 'ld')
        used.setdefault(nm, []).append(best if best is not None else -1)
        tally(R, 'adaptive ' + nm, s, S, p['labs'], m0, p['l0'])
        # the same, then the floor's look-ahead one step further down
        if best is not None and best != lad[-1]:
            nxt = lad[lad.index(best) + 1]; S2 = select(s, K, F, nxt, 'ld')
        else: S2 = S
        tally(R, 'adaptive+1 ' + nm, s, S2, p['labs'], m0, p['l0'])
report(R, D['name'], 22)
for nm, u in used.items():
    u = np.array(u); print('%s %s: theta chosen median %g, fallback %.0f %%' % (D['name'], nm, np.median(u[u >= 0]) if (u >= 0).any() else -1, 100 * (u < 0).mean()))
