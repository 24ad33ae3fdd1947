/**
 * Flood mode (V8's own heap growth and its optimizing compiler) starts under an ingest flood and
 * ends after it, with a gap between the two rates so a rate near the threshold does not switch it
 * every second; v8-memory turns the mode into V8's flags.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/broker.js';
import { TestClient, waitFor } from '../helpers/net.js';
import { HeapGrowthGovernor } from '../../src/ops/heap-growth.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('heap growth by load', () => {
  it('starts flood mode above the flood rate and ends it below half of it, over a 5 s window', () => {
    const applied: boolean[] = [];
    const g = new HeapGrowthGovernor((flood) => applied.push(flood), { floodRecordsPerSec: 5000 });
    let total = 0;
    let t = 0;
    const second = (records: number) => {
      total += records;
      t += 1000;
      g.sample(total, t);
    };
    g.sample(0, 0); // the first sample only sets the baseline
    for (let i = 0; i < 10; i++) second(1000); // a depot's pace
    second(10_000); // 10,000 trackers reporting in step: a wave within one second
    for (let i = 0; i < 9; i++) second(1000);
    second(20_000); // 10,000 logins and their online events
    for (let i = 0; i < 9; i++) second(1000);
    assert.deepEqual(applied, [], 'waves and a login storm are no flood');
    assert.equal(g.isCapped, true);
    second(30_000); // a flood: on within its first second
    assert.deepEqual(applied, [true]);
    assert.equal(g.isCapped, false);
    for (let i = 0; i < 5; i++) second(30_000);
    second(3000); // tailing off: above half the rate over the window, stays on
    assert.deepEqual(applied, [true]);
    for (let i = 0; i < 6 && applied.length < 2; i++) second(0);
    assert.deepEqual(applied, [true, false], 'off once the window holds less than half the flood rate');
    assert.equal(g.isCapped, true);
    g.sample(total, t); // no time elapsed: ignored
    second(500);
    assert.deepEqual(applied, [true, false]);
    assert.equal(g.switchCount, 2);
  });

  it('the gateway goes to flood mode while trackers flood it and back when they calm down', async () => {
    const applied: boolean[] = [];
    // A low flood rate, so the test does not depend on how fast this machine ingests.
    const gw = await startGateway({ http: { port: await freePort() } }, undefined, { heapGrowth: { floodRecordsPerSec: 50, apply: (flood) => applied.push(flood) } });
    cleanups.push(() => gw.stop());
    const c = await TestClient.connect(gw.port);
    cleanups.push(() => c.destroy());
    const id = '135790246811220';
    const frames = Array.from({ length: 400 }, (_, i) => `*HQ,${id},V1,1${String(i % 60).padStart(5, '0')},A,2234.4669,N,11354.3287,E,0.11,0,010124,FFFFFFFF#`).join('');
    c.send(frames);
    await waitFor(() => gw.app.ingest.counters.records >= 400, 'the 400 reports to be stored', 10_000);
    await waitFor(() => applied.length >= 1, 'the cap to come off', 5000);
    assert.equal(applied[0], true);
    // the store hears of it too: a checkpoint asked for during the flood goes to the worker
    gw.app.store.checkpoint('PASSIVE');
    await gw.app.store.checkpointIdle();
    assert.equal(gw.app.store.stats().checkpoints.worker, 1);
    await waitFor(() => applied.length >= 2, 'the cap to come back once the reports stop', 15_000);
    assert.equal(applied[1], false);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    assert.match(metrics, /^tkgw_flood_mode 0$/m);
    assert.match(metrics, /^tkgw_flood_mode_switches_total 2$/m);
  });
});
