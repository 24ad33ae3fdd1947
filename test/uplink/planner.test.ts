import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NewOutboxRow } from '../../src/store/types.js';
import { MemoryOutbox } from '../../src/uplink/memory-outbox.js';
import { BatchPlanner, type Plan, type PlannedBatch, type PlannerLimits } from '../../src/uplink/planner.js';

/** 100-byte payloads make byte limits easy to reason about. */
function pos(now: number, device = 'd1'): NewOutboxRow {
  const payload = JSON.stringify({ v: 1, deviceId: device, type: 'position', pad: '' });
  return { deviceId: device, lane: 'pos', type: 'position', protected: false, receivedAtMs: now, payload: payload.replace('"pad":""', `"pad":"${'x'.repeat(100 - payload.length)}"`), raw: null };
}
const evt = (now: number, type = 'alarm'): NewOutboxRow => ({ ...pos(now), lane: 'evt', type, protected: true });

class Clock {
  ms = 1_000_000;
  now = () => this.ms;
}

function setup(limits: Partial<PlannerLimits> = {}, budgetExhausted = () => false) {
  const clock = new Clock();
  const outbox = new MemoryOutbox(clock.now);
  const planner = new BatchPlanner(outbox, { batchMaxRecords: 200, batchMaxBytes: 65536, batchMaxDelayMs: 50, backlogBytesPerSec: 0, ...limits }, { exhausted: budgetExhausted }, clock.now);
  return { clock, outbox, planner };
}

function batch(plan: Plan): PlannedBatch {
  assert.equal(plan.kind, 'batch', `expected a batch, got ${JSON.stringify(plan)}`);
  return plan as PlannedBatch;
}
const seqs = (p: Plan) => batch(p).rows.map((r) => r.seq);

describe('uplink batch planner', () => {
  it('serves evt before history positions and marks the backlog hist', () => {
    const { clock, outbox, planner } = setup();
    outbox.append([pos(clock.ms), pos(clock.ms), evt(clock.ms), pos(clock.ms), evt(clock.ms)]);
    planner.restart(outbox.stats().lastSeq);
    const first = batch(planner.claimNext());
    assert.deepEqual([first.stream, first.target, first.hist], ['evt', 'evt', true]);
    assert.deepEqual(seqs(first), [3, 5]);
    const second = batch(planner.claimNext());
    assert.deepEqual([second.stream, second.target, second.hist], ['hist', 'pos', true]);
    assert.deepEqual(seqs(second), [1, 2, 4]);
    assert.deepEqual(planner.claimNext(), { kind: 'none' });
  });

  it('sends live positions ahead of history once they are batchMaxDelayMs old', () => {
    const { clock, outbox, planner } = setup({ batchMaxDelayMs: 50 });
    outbox.append([pos(clock.ms), pos(clock.ms)]);
    planner.restart(outbox.stats().lastSeq);
    outbox.append([pos(clock.ms), pos(clock.ms)]);
    const hist = batch(planner.claimNext());
    assert.equal(hist.stream, 'hist', 'history uses the moment while live waits for company');
    assert.deepEqual(planner.claimNext(), { kind: 'wait', ms: 50 });
    clock.ms += 30;
    assert.deepEqual(planner.claimNext(), { kind: 'wait', ms: 20 });
    clock.ms += 20;
    const live = batch(planner.claimNext());
    assert.deepEqual([live.stream, live.hist, seqs(live)], ['live', false, [3, 4]]);
  });

  it('prefers live over history when both are ready', () => {
    const { clock, outbox, planner } = setup({ batchMaxDelayMs: 0 });
    outbox.append([pos(clock.ms), pos(clock.ms)]);
    planner.restart(2);
    outbox.append([pos(clock.ms)]);
    assert.equal(batch(planner.claimNext()).stream, 'live');
    assert.equal(batch(planner.claimNext()).stream, 'hist');
  });

  it('sends a full live batch without waiting and respects the record and byte limits', () => {
    const { clock, outbox, planner } = setup({ batchMaxRecords: 3, batchMaxBytes: 1000, batchMaxDelayMs: 10_000 });
    planner.restart(0);
    outbox.append(Array.from({ length: 7 }, () => pos(clock.ms)));
    assert.deepEqual(seqs(planner.claimNext()), [1, 2, 3]);
    assert.deepEqual(seqs(planner.claimNext()), [4, 5, 6]);
    assert.equal(planner.claimNext().kind, 'wait', 'one young row waits');

    const small = setup({ batchMaxRecords: 100, batchMaxBytes: 250, batchMaxDelayMs: 10_000 });
    small.planner.restart(0);
    small.outbox.append(Array.from({ length: 5 }, () => pos(small.clock.ms)));
    assert.deepEqual(seqs(small.planner.claimNext()), [1, 2], '2 x 100 bytes fit in 250, a third does not');
  });

  it('never lets a row larger than batchMaxBytes wedge the lane', () => {
    const { clock, outbox, planner } = setup({ batchMaxBytes: 50, batchMaxDelayMs: 0 });
    outbox.append([pos(clock.ms), pos(clock.ms)]);
    planner.restart(2);
    assert.deepEqual(seqs(planner.claimNext()), [1]);
    assert.deepEqual(seqs(planner.claimNext()), [2]);
  });

  it('sends command results alone to up/cmd/res and cuts evt batches before them', () => {
    const { clock, outbox, planner } = setup();
    outbox.append([evt(clock.ms), evt(clock.ms), evt(clock.ms, 'command_result'), evt(clock.ms)]);
    planner.restart(0);
    const a = batch(planner.claimNext());
    assert.deepEqual([a.target, seqs(a)], ['evt', [1, 2]]);
    const b = batch(planner.claimNext());
    assert.deepEqual([b.target, seqs(b)], ['cmdRes', [3]]);
    assert.deepEqual(seqs(planner.claimNext()), [4]);
  });

  it('keeps evt batches all-history or all-live', () => {
    const { clock, outbox, planner } = setup();
    outbox.append([evt(clock.ms), evt(clock.ms)]);
    planner.restart(2);
    outbox.append([evt(clock.ms)]);
    const a = batch(planner.claimNext());
    assert.deepEqual([a.hist, seqs(a)], [true, [1, 2]]);
    const b = batch(planner.claimNext());
    assert.deepEqual([b.hist, seqs(b)], [false, [3]]);
  });

  it('paces history with the byte rate and keeps live flowing meanwhile', () => {
    // 1000 B/s, 200-byte batches: one batch per 200 ms once the (empty) bucket has filled.
    const { clock, outbox, planner } = setup({ batchMaxRecords: 2, backlogBytesPerSec: 1000, batchMaxDelayMs: 0 });
    outbox.append(Array.from({ length: 6 }, () => pos(clock.ms)));
    planner.restart(6);
    assert.deepEqual(planner.claimNext(), { kind: 'wait', ms: 200 });
    clock.ms += 200;
    assert.deepEqual(seqs(planner.claimNext()), [1, 2]);
    assert.deepEqual(planner.claimNext(), { kind: 'wait', ms: 200 });
    outbox.append([pos(clock.ms)]);
    assert.deepEqual(seqs(planner.claimNext()), [7], 'live is not paced');
    clock.ms += 100;
    assert.deepEqual(planner.claimNext(), { kind: 'wait', ms: 100 });
    clock.ms += 100;
    assert.deepEqual(seqs(planner.claimNext()), [3, 4]);
    // An idle bucket fills to one second's worth, no more: a long pause buys no huge burst.
    clock.ms += 60_000;
    outbox.append(Array.from({ length: 20 }, () => pos(clock.ms)));
    planner.restart(outbox.stats().lastSeq);
    let sent = 0;
    clock.ms += 60_000;
    for (let i = 0; i < 20; i++) {
      const p = planner.claimNext();
      if (p.kind !== 'batch') break;
      sent += p.rows.length;
    }
    assert.equal(sent, 10, 'one second of budget = 1000 bytes = 10 rows');
  });

  it('holds history back while the byte budget is exhausted, but not evt or live', () => {
    let exhausted = true;
    const { clock, outbox, planner } = setup({ batchMaxDelayMs: 0 }, () => exhausted);
    outbox.append([pos(clock.ms), evt(clock.ms)]);
    planner.restart(2);
    outbox.append([pos(clock.ms)]);
    assert.equal(batch(planner.claimNext()).stream, 'evt');
    assert.equal(batch(planner.claimNext()).stream, 'live');
    assert.deepEqual(planner.claimNext(), { kind: 'none' });
    exhausted = false;
    assert.equal(batch(planner.claimNext()).stream, 'hist');
  });

  it('rewinds on restart so unacknowledged rows go again with their original seqs', () => {
    const { clock, outbox, planner } = setup({ batchMaxDelayMs: 0 });
    outbox.append([pos(clock.ms), pos(clock.ms), evt(clock.ms)]);
    planner.restart(3);
    assert.deepEqual(seqs(planner.claimNext()), [3]);
    assert.deepEqual(seqs(planner.claimNext()), [1, 2]);
    assert.deepEqual(planner.claimNext(), { kind: 'none' });
    outbox.deleteSeqs([1]);
    planner.restart(outbox.stats().lastSeq);
    assert.deepEqual(seqs(planner.claimNext()), [3]);
    assert.deepEqual(seqs(planner.claimNext()), [2]);
  });

  it('keeps per-device seq order within a stream', () => {
    const { clock, outbox, planner } = setup({ batchMaxRecords: 3, batchMaxDelayMs: 0 });
    outbox.append(Array.from({ length: 12 }, (_, i) => pos(clock.ms, `d${i % 3}`)));
    planner.restart(12);
    const got: Array<{ seq: number; deviceId: string | null }> = [];
    for (let i = 0; i < 10; i++) {
      const p = planner.claimNext();
      if (p.kind !== 'batch') break;
      got.push(...p.rows);
    }
    for (const d of ['d0', 'd1', 'd2']) {
      const mine = got.filter((r) => r.deviceId === d).map((r) => r.seq);
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b));
      assert.equal(mine.length, 4);
    }
  });
});
