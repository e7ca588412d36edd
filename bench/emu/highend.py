"""COMPRESS's curve against MMR near TOPK (docs/RETRIEVAL.md, "What was
tried and not kept", fifteenth pass). Since MMR's redundancy mixes in the
shared neighbours, MMR at lambda 0.9 (99.7 % of TOPK's similarity) finds
more labels than COMPRESS's curve at equal similarity on three corpora.
This asks why, and whether a change to COMPRESS's kernel closes the gap.

Each family runs at pool P (default 100, the default seeds at k 10), k 10,
with the similarity floor's look-ahead as in the engine:
- MMR at lambda 0.9 / 0.7 / 0.5 (floor 1 - 0.05 (1 - lambda));
- COMPRESS's diversity curve (theta = 2 * 37^(1 - 2d), floor 1 - 0.05 d,
  d 0.1-0.5) on the engine's kernel K (half cosine, half shared
  neighbours), and on transformed kernels:
  - 'near': the log-det gain against the nearest chosen point only,
    2 log q + log(1 - max K^2) (not a set function: a diagnostic that
    separates the joint residual from the shape of the penalty);
  - 'J0.5': K' = 0.5 + 0.5 K (positive semidefinite; raises moderate
    similarities);
  - 'p0.5': K' = K^0.5 elementwise (penalty -log(1 - K));
  - 'e2', 'e4': K' = sqrt((1 - exp(-c K)) / (1 - exp(-c))), whose
    two-point penalty -log(1 - K'^2) is close to linear in K, as MMR's is
    (neither is sure to be positive semidefinite).
Output: each family's curve, and at each MMR point the curve's labels x
TOPK minus MMR's, interpolated at MMR's similarity.

With --ratios, the knob's low half instead: the engine's kernel, floor
1 - 0.05 d, theta = 2 * R^(1 - 2d) for R 1 (theta 2 throughout: the floor
alone trades), 4, 8, 16 and 37 (the engine's), d 0.02-0.5; the gaps are
then in labels (the ratio times TOPK's label count), as the engine's front
check gives them.

    PRECIS_DATA_DIR=data python3 bench/emu/highend.py manpages-use [queries] [P] [--ratios]"""
import sys, numpy as np
from corp import load
from floor import pool, admissible, k

DS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
TF = {'K': lambda K: K, 'near': lambda K: K, 'J0.5': lambda K: 0.5 + 0.5 * K,
      'p0.5': lambda K: np.sqrt(np.maximum(K, 0)),
      'e2': lambda K: np.sqrt((1 - np.exp(-2 * np.maximum(K, 0))) / (1 - np.exp(-2))),
      'e4': lambda K: np.sqrt((1 - np.exp(-4 * np.maximum(K, 0))) / (1 - np.exp(-4)))}


def run(sim, K, floor, mode, par):
    """Greedy under the floor: 'ld' log-det at theta par, 'near' its
    nearest-point form, 'mmr' MMR at lambda par."""
    n = len(sim); order = np.argsort(-sim, kind='stable'); m0 = sim[order[:k]].mean()
    need = k * (m0 - (1 - floor) * abs(m0)); S = []; tot = 0.0
    sel = np.zeros(n, bool); mx = np.zeros(n)
    q = 30 * np.exp(par * (sim - sim.max())) if mode != 'mmr' else None
    d2 = 1 + q * q if q is not None else None; C = np.zeros((n, k))
    for t in range(min(k, n)):
        ok = admissible(sim, order, sel, tot, need, t)
        if mode == 'ld':
            g = np.log(np.maximum(d2, 1e-30))
        elif mode == 'near':
            g = 2 * np.log(q) + np.log(np.maximum(1 - mx ** 2, 1e-6)) if t else sim
        else:
            g = sim if t == 0 else par * sim - (1 - par) * mx
        j = int(np.argmax(np.where(ok, g, -1e18))); S.append(j); sel[j] = True
        tot += sim[j]; mx = np.maximum(mx, K[j])
        if mode == 'ld':
            e = (q[j] * q * K[j] - C[:, :t] @ C[j, :t]) / np.sqrt(max(d2[j], 1e-30))
            C[:, t] = e; d2 = d2 - e * e
    return S


RDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
RS = (1, 4, 8, 16, 37)


def ratios(name, nq, P):
    """the --ratios study: the knob's low half for each R"""
    D = load(name); nq = min(nq, len(D['Q'])); R = {}
    fams = [('MMR', 1 - 0.05 * (1 - l), 'mmr', l) for l in (0.9, 0.7, 0.5)]
    for r in RS:
        fams += [('R%g' % r, 1 - 0.05 * d, 'ld', 2 * r ** (1 - 2 * d)) for d in RDS]
    for qi in range(nq):
        p = pool(D, qi, P); K = 0.5 * p['Cos'] + 0.5 * p['N']
        for f in fams:
            S = run(p['s'], K, f[1], f[2], f[3]); x = R.setdefault(f, [[], [], [], []])
            x[0].append(p['s'][S].mean()); x[1].append(len({p['labs'][i] for i in S}))
            x[2].append(p['m0']); x[3].append(p['l0'])
    pts = {}
    for f, (a, b, c, d) in R.items():
        pts.setdefault(f[0], []).append((100 * np.mean(a) / np.mean(c), np.mean(b) / np.mean(d)))
    l0 = np.mean(R[fams[0]][3])
    for lam, m in zip((0.9, 0.7, 0.5), pts['MMR']):
        row = []
        for r in RS:
            P_ = sorted(pts['R%g' % r]); v = np.interp(m[0], [x[0] for x in P_], [x[1] for x in P_])
            row.append('R %g %+.3f' % (r, (v - m[1]) * l0))
        print('%s MMR %.1f at %.2f %%, labels: %s' % (name, lam, m[0], ', '.join(row)), flush=True)


def main(name, nq, P):
    D = load(name); nq = min(nq, len(D['Q'])); R = {}
    fams = [('MMR', 'K', 'mmr', 1 - 0.05 * (1 - l), l) for l in (0.9, 0.7, 0.5)]
    for t in TF:
        fams += [(t, t, 'near' if t == 'near' else 'ld', 1 - 0.05 * d, 2 * 37 ** (1 - 2 * d))
                 for d in DS]
    for qi in range(nq):
        p = pool(D, qi, P); K0 = 0.5 * p['Cos'] + 0.5 * p['N']; Ks = {}
        for t in TF:
            Ks[t] = TF[t](K0); np.fill_diagonal(Ks[t], 1.0)
        for f in fams:
            S = run(p['s'], Ks[f[1]], f[3], f[2], f[4]); r = R.setdefault(f, [[], [], [], []])
            r[0].append(p['s'][S].mean()); r[1].append(len({p['labs'][i] for i in S}))
            r[2].append(p['m0']); r[3].append(p['l0'])
    pts = {}
    for f, (a, b, c, d) in R.items():
        pts.setdefault(f[0], []).append((100 * np.mean(a) / np.mean(c), np.mean(b) / np.mean(d)))
    for t in TF:
        print('%s %-5s curve (d %s): %s' % (name, t, '/'.join('%g' % d for d in DS),
              ' '.join('%.2f%%:%.3f' % x for x in pts[t])))
    for lam, m in zip((0.9, 0.7, 0.5), pts['MMR']):
        row = []
        for t in TF:
            P_ = sorted(pts[t]); v = np.interp(m[0], [x[0] for x in P_], [x[1] for x in P_])
            row.append('%s %+.3f' % (t, v - m[1]))
        print('%s MMR %.1f at %.2f %% (labels x%.3f): %s' % (name, lam, m[0], m[1], ', '.join(row)),
              flush=True)


if __name__ == '__main__':
    args = [x for x in sys.argv[1:] if x != '--ratios']
    (ratios if '--ratios' in sys.argv else main)(args[0], int(args[1]) if len(args) > 1 else 200,
                                                 int(args[2]) if len(args) > 2 else 100)
