// Verifies ccis JSON-LD exports with an independent Data Integrity
// implementation: Digital Bazaar's jsonld-signatures, data-integrity and
// eddsa-rdfc-2022-cryptosuite. Contexts come from the repository (offline).
//
//   cd tests/interop && npm install && node verify-digitalbazaar.mjs FILE.jsonld…
//
// Exits 0 only if every document verifies.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const here = path.dirname(fileURLToPath(import.meta.url));
const vocab = path.join(here, '..', '..', 'vocab');
const contexts = {
  'https://w3id.org/ccis/context.jsonld': path.join(vocab, 'context.jsonld'),
  'https://w3id.org/security/data-integrity/v2': path.join(vocab, 'contexts', 'data-integrity-v2.jsonld'),
};

async function documentLoader(url) {
  if (contexts[url]) {
    return {contextUrl: null, documentUrl: url, document: JSON.parse(fs.readFileSync(contexts[url], 'utf8'))};
  }
  if (url.startsWith('did:key:')) {
    const [did] = url.split('#');
    const multibase = did.slice('did:key:'.length);
    const vmId = `${did}#${multibase}`;
    const vm = {
      '@context': 'https://w3id.org/security/multikey/v1',
      id: vmId, type: 'Multikey', controller: did, publicKeyMultibase: multibase,
    };
    const document = url.includes('#') ? vm : {
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: did, verificationMethod: [vm], assertionMethod: [vmId],
    };
    return {contextUrl: null, documentUrl: url, document};
  }
  throw new Error(`refusing to load ${url}: contexts are pinned`);
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const doc of Array.isArray(parsed) ? parsed : [parsed]) {
    const key = await Ed25519Multikey.from({
      '@context': 'https://w3id.org/security/multikey/v1',
      type: 'Multikey',
      id: doc.proof.verificationMethod,
      controller: doc.proof.verificationMethod.split('#')[0],
      publicKeyMultibase: doc.proof.verificationMethod.split('#')[1],
    });
    const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022, verifier: key.verifier()});
    const result = await jsigs.verify(doc, {
      suite, purpose: new jsigs.purposes.AssertionProofPurpose(), documentLoader,
    });
    console.log(`${result.verified ? 'OK     ' : 'FAILED '} ${doc.id}`);
    if (!result.verified) {
      failed++;
      console.log(JSON.stringify(result.error, null, 1).slice(0, 2000));
    }
  }
}
process.exit(failed ? 1 : 0);
