// ajv on the same schemas and payloads as ../validate.rs (criterion).
// Schemas come from generated/openapi.json (the bundled spec):
//   paths → <path> → post → requestBody → content → application/json → schema
// compiled with ajv's draft 2020-12 support and ajv-formats.
//
//   node bench.mjs            # prints one line per case: `ajv <case> <ns/validation>`
//
// Each case: warm up (JIT), then ROUNDS timed batches of a tight loop; the reported figure
// is the median ns per validation over the batches (min also shown).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, "..", "..", "openapi.json"), "utf8"));
const bodySchema = (path) =>
  spec.paths[path].post.requestBody.content["application/json"].schema;

const BIND = '{"sid":"1234","client_secret":"monkeys_are_GREAT","mxid":"@ears:matrix.org"}';

// 1000 distinct 43-character URL-safe base64 strings; same xorshift32 generator as validate.rs.
function lookupBody() {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let x = 0x12345678 >>> 0;
  const addresses = [];
  for (let i = 0; i < 1000; i++) {
    let s = "";
    for (let j = 0; j < 43; j++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      s += ALPHABET[x & 63];
    }
    addresses.push(s);
  }
  return { addresses, algorithm: "sha256", pepper: "matrixrocks" };
}

function compile(allErrors, path) {
  // strict: false — the bundled schemas carry `example`, an OpenAPI annotation ajv's
  // strict mode rejects as an unknown keyword.
  const ajv = new Ajv2020({ allErrors, strict: false });
  addFormats(ajv);
  return ajv.compile(bodySchema(path));
}

function measure(fn, data, iters, rounds = 15) {
  let sink = 0;
  for (let i = 0; i < iters * 3; i++) sink += fn(data) ? 1 : 0; // warm-up
  const perOp = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += fn(data) ? 1 : 0;
    const t1 = process.hrtime.bigint();
    perOp.push(Number(t1 - t0) / iters);
  }
  if (sink !== iters * (rounds + 3)) throw new Error("payload did not validate");
  perOp.sort((a, b) => a - b);
  return { median: perOp[perOp.length >> 1], min: perOp[0] };
}

const bind = JSON.parse(BIND);
const lookup = lookupBody();
const cases = [];
for (const allErrors of [false, true]) {
  const tag = allErrors ? "allErrors" : "default";
  const vb = compile(allErrors, "/_matrix/identity/v2/3pid/bind");
  const vl = compile(allErrors, "/_matrix/identity/v2/lookup");
  cases.push([`validate/bind_v2[${tag}]`, measure(vb, bind, 2_000_000)]);
  cases.push([`validate/lookup_v2_1000[${tag}]`, measure(vl, lookup, 20_000)]);
}
cases.push(["parse/bind_v2[JSON.parse]", measure((s) => JSON.parse(s) !== null, BIND, 500_000)]);
console.log(`# node ${process.version}, ajv ${JSON.parse(readFileSync(join(here, "node_modules/ajv/package.json"))).version}`);
for (const [name, { median, min }] of cases) {
  console.log(`ajv ${name} ${median.toFixed(2)} ns (min ${min.toFixed(2)})`);
}
