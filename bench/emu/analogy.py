"""The analogy of a link (docs/RETRIEVAL.md, "Analogy"): for every link
(u, v) of the E best seeds, the point nearest to q + v - u (the link
carried over from the seed to the query, as in word analogies) is credited
instead of v: 'analogy' searches the whole collection, 'local' only v and
its 16 nearest (the engine's rule), 'local+seeds' also the 50 seeds,
'local2' also the 8 nearest of v's 8 nearest; 'both' and 'both-local'
credit v and the analogue. TOPK at hops 1 over the 50 nearest points and the
candidates, ranked by r(x) + gw * (summed path scores), against the plain
walk. Recall of the held-out entries' linked entries and similarity
relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/analogy.py debpkg [queries]"""
import sys, numpy as np
from corp import load
D = load(sys.argv[1]); X = D['X']; adj = D['adj']; k = 10; E = 10; NS = 50
nq = min(int(sys.argv[2]) if len(sys.argv) > 2 else 150, len(D['Q']))
R = {}; base = []; bsim = []; NBC = {}
def knn(v, kappa=16):
    """v's kappa nearest points and v (the engine's kNN graph, exact)."""
    if (v, kappa) not in NBC:
        sv = X @ X[v]; NBC[v, kappa] = np.argpartition(-sv, kappa + 1)[:kappa + 1]
    return NBC[v, kappa]
def nearest(c, t, u):
    c = c[c != u]; return int(c[np.argmax(X[c] @ t)])
def credit(ev, x, gv): ev[x] = ev.get(x, 0) + gv
for qi in range(nq):
    q = D['Q'][qi]; s = X @ q; o = np.argsort(-s)[:NS]; L = set(D['qlinked'][qi])
    sE = s[o[E - 1]]; span = s[o[0]] - sE
    own = lambda x: (x - sE) / span if span > 0 else np.ones_like(x)  # noqa: E731
    if not L: continue
    plain = {}; ana = {}; loc = {}; locs = {}; loc2 = {}; T = []; G = []
    for u in o[:E]:
        g = max(0.0, float(own(s[u])))
        for v, w in adj[u]:
            plain[v] = plain.get(v, 0) + g * w * 0.9
            t = q + X[v] - X[u]; T.append(t / (np.linalg.norm(t) + 1e-12)); G.append(g * w * 0.9)
            c = knn(v); credit(loc, nearest(c, t, u), g * w * 0.9)
            credit(locs, nearest(np.concatenate([c, o]), t, u), g * w * 0.9)
            c2 = np.unique(np.concatenate([c] + [knn(int(y), 8) for y in c[:9]]))
            credit(loc2, nearest(c2, t, u), g * w * 0.9)
    if T:
        S = np.array(T) @ X.T
        for row, gv in zip(S, G):
            x = int(np.argmax(row)); ana[x] = ana.get(x, 0) + gv
    top = o[:k]; base.append(len(L & set(top.tolist())) / len(L)); bsim.append(s[top].mean())
    add = lambda a, b: {x: a.get(x, 0) + b.get(x, 0) for x in set(a) | set(b)}  # noqa: E731
    for nm, ev in (('plain', plain), ('analogy', ana), ('both', add(plain, ana)), ('local', loc), ('both-local', add(plain, loc)),
                   ('local+seeds', locs), ('local2', loc2)):
        cand = np.array(sorted(set(o.tolist()) | set(ev)))
        f = np.array([ev.get(int(x), 0) for x in cand])
        for gw in (1, 3):
            Sel = cand[np.argsort(-(own(s[cand]) + gw * f), kind='stable')[:k]]
            a = R.setdefault((nm, gw), [[], []]); a[0].append(len(L & set(Sel.tolist())) / len(L)); a[1].append(s[Sel].mean())
b = np.mean(base); bs = np.mean(bsim)
for (nm, gw), (rc, sm) in R.items():
    print('%s %-11s gw %g recall %.2fx at %.1f %%' % (D['name'], nm, gw, np.mean(rc) / b, 100 * np.mean(sm) / bs), flush=True)
