// Replicates a ccis node's feed with an independent LDES client (rdf-connect's
// `ldes-client`, the TREE community's reference client) and checks that every
// member arrives exactly once, with its content graph.
//
//   cd tests/interop && npm install
//   node replicate-ldes.mjs http://127.0.0.1:8401/feed EXPECTED_MEMBERS
//
// Exit code 0 only if the client emitted EXPECTED_MEMBERS distinct members,
// none twice, each with the triples of its record.
import { replicateLDES, intoConfig } from "ldes-client";

const [url, expectedText] = process.argv.slice(2);
if (!url || !expectedText) {
  console.error("usage: node replicate-ldes.mjs FEED_URL EXPECTED_MEMBERS");
  process.exit(2);
}
const expected = Number(expectedText);
const client = replicateLDES(intoConfig({ url, polling: false, fetch }));
const reader = client.stream({ highWaterMark: 10 }).getReader();
const seen = new Map();
let repeated = 0;
let empty = 0;
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  const id = value.id.value;
  if (seen.has(id)) repeated++;
  seen.set(id, value.quads.length);
  const about = id.replace(/\/versions\/\d+$/, "");
  if (!value.quads.some((q) => q.subject.value === about)) empty++;
}
console.log(`${seen.size} distinct members, ${repeated} repeated, ${empty} without their record's triples (expected ${expected})`);
const ok = seen.size === expected && repeated === 0 && empty === 0;
console.log(ok ? "OK: every member exactly once" : "FAILED");
process.exit(ok ? 0 : 1);
