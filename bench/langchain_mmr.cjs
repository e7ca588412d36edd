// langchain_mmr.cjs: LangChain.js's own MMR on the pools of `precis-bench
// select` (bench/select_langchain.c), timed inside node.
//
//   node bench/langchain_mmr.cjs POOLS.bin LANGCHAIN_DIR
//
// LANGCHAIN_DIR holds node_modules/@langchain/core (scripts/fetch-langchain.sh);
// `@langchain/core/utils/math` is resolved through the package's own exports
// map, as an application that depends on it would load it.
//
// POOLS.bin, little-endian: u32 magic 0x4a434c50 ("PLCJ"), u32 version 1,
// u32 pools, u32 n, u32 dim, u32 k, u32 warmup, u32 reps, f32 lambda; then per
// pool: the query (dim f32) and the pool (n*dim f32, row-major).
//
// Each pool becomes number[][] (as embeddings reach LangChain), outside the
// timed region. Per pool: `warmup` untimed calls, then `reps` calls each
// timed with process.hrtime.bigint() around maximalMarginalRelevance(query,
// pool, lambda, k) alone. Output, one line per pool:
//   pool P ids I0 I1 ... ms T0 T1 ...
// and first a line "version V, node NV" (the package's and node's versions). Exit 3 when the
// package is missing, 2 on a malformed input.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

function fail(code, msg) {
  process.stderr.write(`langchain_mmr: ${msg}\n`);
  process.exit(code);
}

if (process.argv.length !== 4) fail(2, "usage: langchain_mmr.cjs POOLS.bin LANGCHAIN_DIR");
const [file, dir] = process.argv.slice(2);
let mmr, version;
try {
  const req = createRequire(path.resolve(dir, "package.json"));
  mmr = req("@langchain/core/utils/math").maximalMarginalRelevance;
  version = req("@langchain/core/package.json").version;
} catch (e) {
  fail(3, `@langchain/core not found under ${dir} (scripts/fetch-langchain.sh): ${e.message}`);
}
if (typeof mmr !== "function") fail(3, "maximalMarginalRelevance is not exported");

const buf = fs.readFileSync(file);
if (buf.length < 36 || buf.readUInt32LE(0) !== 0x4a434c50 || buf.readUInt32LE(4) !== 1)
  fail(2, "bad header");
const [pools, n, dim, k, warmup, reps] = [8, 12, 16, 20, 24, 28].map((o) => buf.readUInt32LE(o));
const lambda = buf.readFloatLE(32);
const per = (dim + n * dim) * 4;
if (!pools || !n || !dim || !k || !reps || buf.length !== 36 + pools * per) fail(2, "bad sizes");

const out = [`version ${version}, node ${process.version}`];
for (let p = 0; p < pools; p++) {
  const base = 36 + p * per;
  const f = new Float32Array(buf.buffer.slice(buf.byteOffset + base, buf.byteOffset + base + per));
  const query = Array.from(f.subarray(0, dim));
  const list = [];
  for (let i = 0; i < n; i++) list.push(Array.from(f.subarray(dim + i * dim, dim + (i + 1) * dim)));
  let ids = null;
  for (let r = 0; r < warmup; r++) ids = mmr(query, list, lambda, k);
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    ids = mmr(query, list, lambda, k);
    const t1 = process.hrtime.bigint();
    ms.push(Number(t1 - t0) / 1e6);
  }
  out.push(`pool ${p} ids ${ids.join(" ")} ms ${ms.map((x) => x.toFixed(4)).join(" ")}`);
}
process.stdout.write(out.join("\n") + "\n");
