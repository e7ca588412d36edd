"""What one hop displaces, and reciprocal rank fusion in place of the sum
(docs/RETRIEVAL.md, "What was tried"): TOPK at hops 1 over a corpus's links
with the engine's defaults (100 seeds, the walk from the 15 best, the
analogy, graph weight 2.7). First, of the held-out entries' linked entries,
how many TOPK at hops 0 finds, how many of those hops 1 keeps and loses, how
many it gains, and how many lie in the pool unchosen. Then the ranking
1/(c + rank by similarity) + we/(c + rank by graph evidence) (points without
evidence take no second term) against the engine's r + 2.7 * evidence;
recall and similarity relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/rrf.py wordnet-small [queries]"""
import sys, numpy as np
from corp import load
from design import retr
D = load(sys.argv[1]); nq = min(int(sys.argv[2]) if len(sys.argv) > 2 else 150, len(D['Q'])); k = 10
cfg = {'sum gw2.7': None}
for c in (2, 5, 10, 30):
    cfg['rrf c%d' % c] = (c, 1.0)
for c in (5, 10):
    for we in (0.5, 2.0):
        cfg['rrf c%d we%g' % (c, we)] = (c, we)
R = {n: [[], []] for n in cfg}; base = []; bsim = []; tally = np.zeros(6, int)
for qi in range(nq):
    L = set(D['qlinked'][qi])
    if not L:
        continue
    s = D['X'] @ D['Q'][qi]; t0 = np.argsort(-s)[:k]
    base.append(len(L & set(t0.tolist())) / len(L)); bsim.append(s[t0].mean())
    walk = dict(k=k, nseeds=100, E=15, decay=1.0, hops=1, agg='sum', ana=1)
    ids, sim, rel1, _, _ = retr(D, qi, gw=1, **walk)
    _, _, rel0, _, _ = retr(D, qi, gw=0, **walk)
    A = rel1 - rel0  # the summed path scores
    rs = np.empty(len(ids)); rs[np.argsort(-sim, kind='stable')] = np.arange(len(ids))
    re = np.empty(len(ids)); re[np.argsort(-A, kind='stable')] = np.arange(len(ids)); re[A <= 0] = np.inf
    for n, c in cfg.items():
        sc = rel0 + 2.7 * A if c is None else 1 / (c[0] + rs + 1) + c[1] / (c[0] + re + 1)
        S = np.argsort(-sc, kind='stable')[:k]; chosen = set(ids[S].tolist())
        R[n][0].append(len(L & chosen) / len(L)); R[n][1].append(sim[S].mean())
        if c is None:
            f0 = L & set(t0.tolist()); f1 = L & chosen
            tally += [len(L), len(f0), len(f0 & f1), len(f0 - f1), len(f1 - f0), len((L & set(ids.tolist())) - chosen)]
print('%s: %d linked entries; TOPK at hops 0 finds %d; hops 1 keeps %d, loses %d, gains %d; '
      '%d more lie in the pool unchosen' % (D['name'], *tally))
b = np.mean(base); bs = np.mean(bsim)
for n, (rc, sm) in R.items():
    print('%s %-14s recall %.3fx at %.1f %%' % (D['name'], n, np.mean(rc) / b, 100 * np.mean(sm) / bs), flush=True)
