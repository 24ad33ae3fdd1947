import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteBudget } from '../../src/uplink/budget.js';
import { MemoryOutbox } from '../../src/uplink/memory-outbox.js';

describe('uplink byte budget', () => {
  it('counts, stops at the daily or monthly limit and resets independently', () => {
    const outbox = new MemoryOutbox();
    let now = 0;
    const b = new ByteBudget(outbox, { perDay: 1000, perMonth: 1500 }, () => now);
    b.add(999);
    assert.equal(b.exhausted(), false);
    b.add(1);
    assert.equal(b.exhausted(), true);
    b.resetDaily();
    assert.equal(b.bytesToday, 0);
    assert.equal(b.bytesMonth, 1000);
    assert.equal(b.exhausted(), false);
    now += 10;
    b.add(500);
    assert.equal(b.exhausted(), true, 'monthly limit reached');
    b.resetMonthly();
    assert.equal(b.exhausted(), false);
  });

  it('survives a restart through the outbox meta, persisting at most once a second', () => {
    const outbox = new MemoryOutbox();
    let now = 10_000;
    const first = new ByteBudget(outbox, { perDay: 0, perMonth: 0 }, () => now);
    first.add(100);
    assert.equal(outbox.getMeta('uplink.bytesToday'), '100');
    now += 10;
    first.add(50);
    assert.equal(outbox.getMeta('uplink.bytesToday'), '100', 'not persisted again within the second');
    now += 1000;
    first.add(50);
    assert.equal(outbox.getMeta('uplink.bytesToday'), '200');
    first.add(1);
    first.flush();
    const second = new ByteBudget(outbox, { perDay: 0, perMonth: 0 }, () => now);
    assert.equal(second.bytesToday, 201);
    assert.equal(second.bytesMonth, 201);
    assert.equal(second.exhausted(), false, 'no limit configured');
  });

  it('ignores garbage in the persisted counters', () => {
    const outbox = new MemoryOutbox();
    outbox.setMeta('uplink.bytesToday', 'NaN');
    outbox.setMeta('uplink.bytesMonth', '-5');
    const b = new ByteBudget(outbox, { perDay: 10, perMonth: 10 }, () => 0);
    assert.equal(b.bytesToday, 0);
    assert.equal(b.bytesMonth, 0);
  });
});
