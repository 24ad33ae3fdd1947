import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from './runner.js';

// A bounded run here; `npm run test:chaos` runs the long one and prints the figures.
describe('chaos (bounded)', () => {
  it('broker kill -9, link cuts, hung broker, gateway kill -9: nothing the devices had ACKed is lost', async () => {
    const report = await runChaos({ devices: 12, reports: 900, intervalMs: 30, faultEverySec: 2.5, quotaMb: 64, log: (l) => process.stderr.write(`chaos: ${l}\n`) });
    process.stderr.write(`chaos: ${JSON.stringify(report)}\n`);
    assert.ok(report.faults.length >= 4, `faults injected: ${report.faults.join(', ')}`);
    assert.ok(report.devicesAcked > 1000, `devices ACKed ${report.devicesAcked}`);
    assert.equal(report.lost, 0);
    assert.equal(report.duplicatesWithOtherSeq, 0, 'a duplicate always carries its original seq');
  });
});
