"""Two upper bounds for docs/RETRIEVAL.md ("What the labels allow, and what a
walk can reach"), on a study corpus's held-out queries (exact seeds, k 10):
  oracle: knowing the labels, the most similar point of each of the m best
    labels plus the most similar rest, the largest m that keeps 97 % of
    TOPK's similarity; labels x TOPK and similarity %, from the top-P pool;
  reach: share of the linked entries among the seeds or one link away from
    the E best seeds (any ranking at hops 1 recalls at most this).
Usage: PRECIS_DATA_DIR=data python3 bench/emu/bounds.py manpages"""
import sys, numpy as np
from corp import load
k = 10
D = load(sys.argv[1]); X = D['X']; lab = D['lab']; adj = D['adj']
nq = min(200, len(D['Q']))
for P in (30, 100):
    L0 = []; L1 = []; S0 = []; S1 = []
    for qi in range(nq):
        s = X @ D['Q'][qi]; o = np.argsort(-s)[:P]; m0 = s[o[:k]].mean()
        best = {}
        for i in o: best.setdefault(lab[i], i)
        firsts = list(best.values())
        for m in range(min(k, len(firsts)), 0, -1):
            S = firsts[:m]; S = S + [i for i in o if i not in set(S)][:k - m]
            if s[S].mean() >= 0.97 * m0: break
        L0.append(len({lab[i] for i in o[:k]})); L1.append(len({lab[i] for i in S}))
        S0.append(m0); S1.append(s[S].mean())
    print('%s oracle pool %d: labels x%.3f at %.2f %% similarity' %
          (D['name'], P, np.mean(L1) / np.mean(L0), 100 * np.mean(S1) / np.mean(S0)))
top = []; reach = {E: [] for E in (10, 15, 30, 100)}
for qi in range(nq):
    L = set(D['qlinked'][qi])
    if not L: continue
    s = X @ D['Q'][qi]; o = np.argsort(-s)
    top.append(len(L & set(o[:k].tolist())) / len(L))
    for E in reach:
        pool = set(o[:max(30, E)].tolist()) | {v for u in o[:E] for v, w in adj[u]}
        reach[E].append(len(L & pool) / len(L))
if top:
    print('%s recall TOPK %.3f; reach of one hop from E seeds: %s' % (D['name'], np.mean(top),
          ', '.join('E %d %.3f (%.2fx)' % (E, np.mean(v), np.mean(v) / np.mean(top))
                    for E, v in reach.items())))
