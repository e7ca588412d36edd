"""Link weights per (kind, direction), learnt from the collection's own
links (docs/RETRIEVAL.md, "What was tried"): 500 ingested points that have
links serve as queries, each with itself left out; for every edge of its 10
nearest points, is the edge's far end linked to it? The shrunk precision
per (kind, direction), relative to the mean, multiplies the edge's weight
in the walk. TOPK at hops 1 (sum of path scores, 50 seeds, expansion from
the 10 best, pool 300) with and without the factors, recall of the
held-out entries' linked entries and similarity relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/kind_weights.py wordnet-rel [queries]"""
import os, sys, json, numpy as np, collections
from corp import load
name = sys.argv[1]; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
D = load(name); X = D['X']; k = 10
ddir = os.path.join(os.environ.get('PRECIS_DATA_DIR', 'data'), name)
ids = np.fromfile(ddir + '/ids.u64', dtype=np.uint64); pos = {int(i): j for j, i in enumerate(ids)}
kadj = [[] for _ in range(len(X))]
for j, l in enumerate(open(ddir + '/corpus.jsonl')):
    c = json.loads(l)
    for e in c.get('links', []):
        t = pos[e['dst']]; w = e.get('weight', 1.0); kd = e.get('kind')
        kadj[j].append((t, w, (kd, 'out'))); kadj[t].append((j, w, (kd, 'in')))
nbr = [set(v for v, _, _ in a) for a in kadj]
# self-supervised: ingested points with links as pseudo-queries, the point itself excluded
rng = np.random.default_rng(7)
cand = [p for p in range(len(X)) if nbr[p]]
tot = collections.Counter(); hit = collections.Counter()
for p in rng.choice(cand, min(500, len(cand)), replace=False):
    s = X @ X[p]; s[p] = -9; o = np.argpartition(-s, k)[:k]
    for u in o:
        for v, w, kd in kadj[u]:
            if v == p: continue
            tot[kd] += 1; hit[kd] += v in nbr[p]
pbar = sum(hit.values()) / max(1, sum(tot.values())); A = 20
fac = {kd: ((hit[kd] + A * pbar) / (tot[kd] + A)) / pbar for kd in tot}
print(name, 'factors', {'%s/%s' % kd: round(f, 2) for kd, f in sorted(fac.items())})

def retr(qi, gw, use_fac, nseeds=50, pool=300, E=10, decay=0.9, fanout=16):
    q = D['Q'][qi]; s = X @ q; ns = min(nseeds, pool - pool // 2)
    order = np.argsort(-s)[:ns]; s1 = s[order[0]]; sE = s[order[E - 1]]; span = s1 - sE
    own = lambda x: (x - sE) / span if span > 0 else np.ones_like(x)
    P = {int(i): 0 for i in order}; acc = {}
    for u in order[:E]:
        gu = max(0.0, float(own(s[u])))
        edges = [(v, w * (fac.get(kd, 1.0) if use_fac else 1.0)) for v, w, kd in kadj[u]]
        for v, w in sorted(edges, key=lambda t: (-t[1], t[0]))[:fanout]:
            acc[v] = acc.get(v, 0.0) + gu * w * decay
            if v not in P and len(P) < pool: P[v] = 1
    ids_ = np.array(list(P)); sim = s[ids_]
    rel = own(sim) + gw * np.array([acc.get(int(i), 0.0) for i in ids_])
    S = np.argsort(-rel, kind='stable')[:k]
    return sim[S].mean(), ids_[S]

base_s = []; base_r = []
for qi in range(min(nq, len(D['Q']))):
    s = X @ D['Q'][qi]; o = np.argsort(-s)[:k]; L = set(D['qlinked'][qi])
    base_s.append(s[o].mean()); base_r.append(len(L & set(o.tolist())) / len(L) if L else np.nan)
for use in (False, True):
    for gw in (1.0, 3.0, 5.0):
        ss = []; rr = []
        for qi in range(min(nq, len(D['Q']))):
            m, ch = retr(qi, gw, use); L = set(D['qlinked'][qi])
            ss.append(m); rr.append(len(L & set(ch.tolist())) / len(L) if L else np.nan)
        print('%s factors %-5s gw %g: recall %.2fx at %.1f %%' % (name, use, gw, np.nanmean(rr) / np.nanmean(base_r), 100 * np.mean(ss) / np.mean(base_s)), flush=True)
