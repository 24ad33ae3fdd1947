import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_FAMILIES } from '../../src/protocol/types.js';
import { fuzzFamily, MAX_FRAME } from '../helpers/fuzz.js';

// A bounded count here; `npm run fuzz` runs 100,000 per family.
const CASES = Number(process.env['TKGW_FUZZ_CASES'] ?? 1500);

describe('fuzz: detect + frame + decode', () => {
  for (const family of PROTOCOL_FAMILIES) {
    it(`${family}: only messages or DecodeErrors, bounded buffers (${CASES} cases)`, () => {
      const report = fuzzFamily(family, CASES, 0x5eed + family.length);
      assert.deepEqual(report.failures, []);
      assert.ok(report.maxPendingBytes <= MAX_FRAME + 512, `pending bytes ${report.maxPendingBytes} stay bounded`);
      assert.ok(report.messages > 0, 'mutations of real frames still decode sometimes');
    });
  }
});
