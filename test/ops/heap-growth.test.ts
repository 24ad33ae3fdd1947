/**
 * V8's old-generation growth cap comes off under an ingest flood and goes back on after it, with
 * a gap between the two rates so a rate near the threshold does not switch it every second.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { TestClient, waitFor } from '../helpers/net.js';
import { HeapGrowthGovernor, V8_CHOOSES } from '../../src/ops/heap-growth.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('heap growth by load', () => {
  it('lifts the cap above the flood rate and puts it back below half of it', () => {
    const applied: number[] = [];
    const g = new HeapGrowthGovernor((p) => applied.push(p), { cappedPercent: 30, floodRecordsPerSec: 5000 });
    g.sample(0, 0); // the first sample only sets the baseline
    g.sample(1000, 1000); // 1,000/s: a depot's pace
    assert.deepEqual(applied, []);
    assert.equal(g.isCapped, true);
    g.sample(9000, 2000); // 8,000/s
    assert.deepEqual(applied, [V8_CHOOSES]);
    assert.equal(g.isCapped, false);
    g.sample(12_000, 3000); // 3,000/s: below the flood rate, above half of it: stays lifted
    g.sample(24_000, 5000); // 6,000/s over 2 s
    assert.deepEqual(applied, [V8_CHOOSES]);
    g.sample(26_000, 6000); // 2,000/s
    assert.deepEqual(applied, [V8_CHOOSES, 30]);
    assert.equal(g.isCapped, true);
    g.sample(26_000, 6000); // no time elapsed: ignored
    g.sample(26_500, 7000);
    assert.deepEqual(applied, [V8_CHOOSES, 30]);
    assert.equal(g.switchCount, 2);
  });

  it('the gateway lifts the cap while trackers flood it and restores it when they calm down', async () => {
    const applied: number[] = [];
    // A low flood rate, so the test does not depend on how fast this machine ingests.
    const gw = await startGateway({}, undefined, { heapGrowth: { cappedPercent: 30, floodRecordsPerSec: 50, apply: (p) => applied.push(p) } });
    cleanups.push(() => gw.stop());
    const c = await TestClient.connect(gw.port);
    cleanups.push(() => c.destroy());
    const id = '135790246811220';
    const frames = Array.from({ length: 400 }, (_, i) => `*HQ,${id},V1,1${String(i % 60).padStart(5, '0')},A,2234.4669,N,11354.3287,E,0.11,0,010124,FFFFFFFF#`).join('');
    c.send(frames);
    await waitFor(() => gw.app.ingest.counters.records >= 400, 'the 400 reports to be stored', 10_000);
    await waitFor(() => applied.length >= 1, 'the cap to come off', 5000);
    assert.equal(applied[0], V8_CHOOSES);
    await waitFor(() => applied.length >= 2, 'the cap to come back once the reports stop', 5000);
    assert.equal(applied[1], 30);
  });
});
