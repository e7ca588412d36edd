"""How to score what one hop reaches (docs/RETRIEVAL.md, "The walk on
Debian's packages"): TOPK at hops 1 over the 50 nearest points and
everything one link from the 10 best, ranked by r(x) + gw * f(x) with f the
engine's summed path scores, the count of seeds that reach x, that count
less one (only points two seeds reach gain), the path scores divided by
the square root of x's degree (scaled by 3), or the square root of the
count; then the engine's walk (bench/emu/design.py) with fanout 16 or 64
and fanout ties broken by id or by similarity. Recall of the held-out
entries' linked entries and similarity relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/walk_scores.py debpkg [queries]"""
import sys, numpy as np
from corp import load
from evald import run
D = load(sys.argv[1]); X = D['X']; adj = D['adj']; k = 10; E = 10; NS = 50
nq = min(int(sys.argv[2]) if len(sys.argv) > 2 else 200, len(D['Q']))
deg = np.array([len(a) for a in adj]); R = {}; base = []; bsim = []
for qi in range(nq):
    s = X @ D['Q'][qi]; o = np.argsort(-s)[:NS]; L = set(D['qlinked'][qi])
    sE = s[o[E - 1]]; span = s[o[0]] - sE
    ev = {}; cn = {}; evd = {}
    for u in o[:E]:
        g = max(0.0, (s[u] - sE) / span) if span > 0 else 1.0
        for v, w in adj[u]:
            ev[v] = ev.get(v, 0) + g * w * 0.9; cn[v] = cn.get(v, 0) + 1
            evd[v] = evd.get(v, 0) + g * w * 0.9 / np.sqrt(deg[v])
    cand = np.array(sorted(set(o.tolist()) | set(ev))); rr = (s[cand] - sE) / span if span > 0 else np.ones(len(cand))
    top = o[:k]; base.append(len(L & set(top.tolist())) / len(L)); bsim.append(s[top].mean())
    c = np.array([cn.get(v, 0) for v in cand], float)
    feats = {'sum (engine)': np.array([ev.get(v, 0) for v in cand]), 'count': c,
             'count - 1': np.maximum(0, c - 1), 'sum / sqrt(deg)': 3 * np.array([evd.get(v, 0) for v in cand]),
             'sqrt(count)': np.sqrt(c)}
    for fn, f in feats.items():
        for gw in (0.3, 1, 3, 10):
            S = cand[np.argsort(-(rr + gw * f), kind='stable')[:k]]
            a = R.setdefault((fn, gw), [[], []]); a[0].append(len(L & set(S.tolist())) / len(L)); a[1].append(s[S].mean())
b = np.mean(base); bs = np.mean(bsim)
for (fn, gw), (rc, sm) in R.items():
    print('%s %-16s gw %4g recall %.2fx at %.1f %%' % (D['name'], fn, gw, np.mean(rc) / b, 100 * np.mean(sm) / bs), flush=True)
b0 = run(D, {'topk': ('topk', 0)}, hops=0, nq=nq)['topk']
for tie in ('id', 'sim'):
    for fo in (16, 64):
        s_, l_, rc = run(D, {'topk': ('topk', 0)}, hops=1, nq=nq, nseeds=50, E=10, agg='sum', gw=3.0, fanout=fo, tie=tie)['topk']
        print('%s walk, fanout %d, ties by %s, gw 3: recall %.2fx at %.1f %%' % (D['name'], fo, tie, np.nanmean(rc) / np.nanmean(b0[2]), 100 * s_.mean() / b0[0].mean()), flush=True)
