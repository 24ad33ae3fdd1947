/** `npm run fuzz [-- --cases N]`: 100,000 random and mutated inputs per family (default). */
import { PROTOCOL_FAMILIES } from '../src/protocol/types.js';
import { fuzzFamily } from '../test/helpers/fuzz.js';

const arg = process.argv.indexOf('--cases');
const cases = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
let failed = false;
for (const family of PROTOCOL_FAMILIES) {
  const started = Date.now();
  const r = fuzzFamily(family, cases, Date.now() & 0xffff);
  const ms = Date.now() - started;
  console.log(`${family.padEnd(7)} ${cases} cases in ${ms} ms: ${r.messages} messages, ${r.decodeErrors} decode errors, max pending ${r.maxPendingBytes} B, ${r.failures.length} failures`);
  for (const f of r.failures) console.log(`  FAIL ${f}`);
  if (r.failures.length) failed = true;
}
process.exit(failed ? 1 : 0);
