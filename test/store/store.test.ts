import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fdatasync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, StoreError, type StoreOptions } from '../../src/store/store.js';
import { BackgroundCheckpointer } from '../../src/store/checkpointer.js';
import { isTmpfs } from '../../src/store/mounts.js';
import type { NewOutboxRow } from '../../src/store/types.js';
import { waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));
function newDir(): string {
  const t = tempDir('tkgw-store-');
  dirs.push(t.cleanup);
  return t.dir;
}

const opts = (dataDir: string, over: Partial<StoreOptions> = {}): StoreOptions => ({
  dataDir,
  quotaBytes: 10 * 1024 * 1024,
  synchronous: 'normal',
  groupCommitMs: 2,
  groupCommitMaxRows: 500,
  allowTmpfs: true,
  ...over,
});

const pos = (i: number, bytes = 50): NewOutboxRow => ({
  deviceId: 'dev1',
  lane: 'pos',
  type: 'position',
  protected: false,
  receivedAtMs: 1_700_000_000_000 + i,
  payload: JSON.stringify({ v: 1, i, pad: 'x'.repeat(Math.max(0, bytes - 20)) }),
  raw: Buffer.from([i & 0xff]),
});
const alarm = (i: number): NewOutboxRow => ({ ...pos(i), lane: 'evt', type: 'alarm', protected: true });

describe('Store', () => {
  it('assigns monotonic seqs and shares one transaction across a group', async () => {
    const { store } = openStore(opts(newDir()));
    const before = store.commitCount;
    const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => store.enqueue(pos(i))));
    assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(store.commitCount - before, 1, 'one commit for the whole group');
    const more = store.append([pos(50), alarm(51)]);
    assert.deepEqual(more.map((r) => r.seq), [51, 52]);
    assert.equal(store.stats().totalRecords, 52);
    await store.close();
  });

  it('commits early when the group is full', async () => {
    const { store } = openStore(opts(newDir(), { groupCommitMs: 10_000, groupCommitMaxRows: 10 }));
    const rows = await Promise.all(Array.from({ length: 10 }, (_, i) => store.enqueue(pos(i))));
    assert.equal(rows.length, 10);
    await store.close();
  });

  it('reads by lane with limits, byte bounds and a seq window; deletes', async () => {
    const { store } = openStore(opts(newDir()));
    store.append([pos(1), alarm(2), pos(3), pos(4), alarm(5)]);
    assert.deepEqual(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10, maxBytes: 1e6 }).map((r) => r.seq), [1, 3, 4]);
    assert.deepEqual(store.readBatch({ lane: 'evt', afterSeq: 0, limit: 10, maxBytes: 1e6 }).map((r) => r.seq), [2, 5]);
    assert.deepEqual(store.readBatch({ lane: 'pos', afterSeq: 1, beforeSeq: 4, limit: 10, maxBytes: 1e6 }).map((r) => r.seq), [3]);
    assert.deepEqual(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 2, maxBytes: 1e6 }).map((r) => r.seq), [1, 3]);
    assert.equal(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10, maxBytes: 1 }).length, 1, 'at least one row even over maxBytes');
    assert.equal(store.deleteSeqs([1, 3, 999]), 2);
    assert.equal(store.stats().backlog.rows, 3);
    assert.equal(store.deleteUpTo(5), 3);
    assert.equal(store.stats().backlog.rows, 0);
    await store.close();
  });

  it('keeps its backlog counters equal to a recount across range deletes of mixed lanes', async () => {
    const dir = newDir();
    let { store } = openStore(opts(dir));
    store.append(Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? alarm(i) : pos(i, 40 + (i % 13) * 10))));
    const backlog = () => store.stats().backlog;
    const expectRecount = async (what: string) => {
      const live = { ...backlog(), oldestAgeSec: 0 };
      await store.close();
      ({ store } = openStore(opts(dir)));
      assert.deepEqual({ ...backlog(), oldestAgeSec: 0 }, live, what);
    };
    // runs over both lanes, a single seq, seqs already gone and never issued
    assert.equal(store.deleteSeqs([2, 3, 4, 5, 9, 30, 31, 32, 33, 34, 35, 36, 999]), 12);
    assert.equal(store.deleteSeqs([3, 4, 17]), 1);
    await expectRecount('after deleteSeqs');
    assert.equal(store.deleteUpTo(20), 20 - 6, "seqs 2-5, 9 and 17 went before");
    await expectRecount('after deleteUpTo');
    assert.equal(backlog().rows, 60 - 12 - 1 - 14);
    await store.close();
  });

  it('deletes acknowledged rows without a sync of their own, then is back at synchronous=FULL', async () => {
    const { store } = openStore(opts(newDir(), { synchronous: 'full' }));
    store.append([pos(1), pos(2), pos(3), pos(4)]);
    // A trigger runs on the deleting connection, so it records that connection's setting.
    const probe = new Database(store.path);
    probe.exec(`CREATE TABLE sync_seen (level INTEGER);
      CREATE TRIGGER outbox_deleted AFTER DELETE ON outbox BEGIN INSERT INTO sync_seen SELECT synchronous FROM pragma_synchronous; END;`);
    assert.equal(store.deleteSeqs([1, 2]), 2);
    assert.equal(store.deleteUpTo(3), 1);
    // 1 is NORMAL: a delete lost to a power cut only sends its rows again, under the same seqs.
    assert.deepEqual(probe.prepare('SELECT level FROM sync_seen').pluck().all(), [1, 1, 1]);
    probe.exec('DELETE FROM sync_seen');
    // Everything else (commands, the registry) still commits with FULL.
    store.append([pos(5)]);
    probe.exec('CREATE TRIGGER outbox_added AFTER INSERT ON outbox BEGIN INSERT INTO sync_seen SELECT synchronous FROM pragma_synchronous; END;');
    store.append([pos(6)]);
    assert.deepEqual(probe.prepare('SELECT level FROM sync_seen').pluck().all(), [2]);
    probe.close();
    await store.close();
  });

  it('keeps rows and continues seqs across a restart', async () => {
    const dir = newDir();
    const a = openStore(opts(dir)).store;
    a.append([pos(1), pos(2), pos(3)]);
    a.deleteSeqs([3]);
    await a.close();
    const b = openStore(opts(dir)).store;
    assert.equal(b.stats().backlog.rows, 2);
    assert.deepEqual(b.append([pos(4)]).map((r) => r.seq), [4], 'seq 3 is never reused');
    await b.close();
  });

  it('quarantines a corrupt file, starts fresh with a storage_reset event, and never reuses a seq', async () => {
    const dir = newDir();
    const a = openStore(opts(dir)).store;
    a.append([pos(1), pos(2)]);
    await a.close();
    writeFileSync(join(dir, 'gateway.db'), Buffer.alloc(8192, 0x5a));
    const opened = openStore(opts(dir));
    assert.ok(opened.reset, 'reset reported');
    assert.ok(readdirSync(dir).some((f) => f.startsWith('gateway.db.corrupt-')), 'quarantined file kept');
    const events = opened.store.readBatch({ lane: 'evt', afterSeq: 0, limit: 10, maxBytes: 1e6 });
    assert.equal(events[0]?.type, 'storage_reset');
    assert.ok((events[0]?.seq ?? 0) > 2, 'seq continues above the old database');
    await opened.store.close();
  });

  it('evicts the oldest history over quota, keeps alarms, and records the gap', async () => {
    const { store } = openStore(opts(newDir(), { quotaBytes: 2000 }));
    store.append([alarm(0)]);
    for (let i = 1; i <= 40; i++) store.append([pos(i, 100)]);
    const stats = store.stats();
    assert.ok(stats.backlog.bytes <= 2000 + 200, `backlog ${stats.backlog.bytes} within quota`);
    assert.ok(stats.evictedRows > 0);
    const evt = store.readBatch({ lane: 'evt', afterSeq: 0, limit: 100, maxBytes: 1e6 });
    assert.equal(evt[0]?.type, 'alarm', 'alarm kept');
    const gaps = evt.filter((r) => r.type === 'gap').map((r) => JSON.parse(r.payload) as { fromSeq: number; toSeq: number; count: number });
    assert.ok(gaps.length > 0);
    const remaining = store.readBatch({ lane: 'pos', afterSeq: 0, limit: 100, maxBytes: 1e6 }).map((r) => r.seq);
    const evicted = gaps.reduce((n, g) => n + g.count, 0);
    assert.equal(evicted, stats.evictedRows);
    assert.equal(gaps[0]?.fromSeq, 2, 'the oldest position went first');
    for (const g of gaps) for (const seq of remaining) assert.ok(seq < g.fromSeq || seq > g.toSeq, `seq ${seq} outside gap`);
    await store.close();
  });

  it('refuses positions, never alarms, when protected rows exceed twice the quota', async () => {
    const { store } = openStore(opts(newDir(), { quotaBytes: 500 }));
    for (let i = 0; i < 30; i++) store.append([alarm(i)]);
    assert.throws(() => store.append([pos(99)]), (e: unknown) => e instanceof StoreError && e.code === 'full');
    await assert.rejects(store.enqueue(pos(100)), (e: unknown) => e instanceof StoreError && e.code === 'full');
    assert.equal(store.append([alarm(101)]).length, 1);
    await store.close();
  });

  it('refuses a data dir on tmpfs unless forced', () => {
    const table = 'proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n';
    assert.equal(isTmpfs('/run/tkgw', () => table), true);
    assert.equal(isTmpfs('/var/lib/tkgw', () => table), false);
    const dir = newDir();
    assert.throws(
      () => openStore(opts(dir, { allowTmpfs: false, mountTable: () => `tmpfs ${dir} tmpfs rw 0 0\n` })),
      (e: unknown) => e instanceof StoreError && e.code === 'tmpfs' && /tmpfs/.test(e.message),
    );
  });

  it('persists commands with an append-only audit trail', async () => {
    const { store } = openStore(opts(newDir()));
    store.insertCommand(
      { id: 'c1', deviceId: 'd1', action: 'engine_stop', state: 'accepted', reason: null, request: '{}', createdMs: 1, updatedMs: 1, expiresMs: 100, attempts: 0, correlation: null, deviceReply: null },
      { detail: 'issuedBy=ops' },
    );
    store.updateCommand('c1', { state: 'sent', attempts: 1, updatedMs: 2 }, { state: 'sent' });
    const c = store.updateCommand('c1', { state: 'acked', deviceReply: 'DONE', updatedMs: 3 }, { state: 'acked', detail: 'DONE' });
    assert.equal(c.state, 'acked');
    assert.equal(store.getCommand('c1')?.attempts, 1);
    assert.deepEqual(store.listAudit('c1').map((a) => a.state), ['accepted', 'sent', 'acked']);
    assert.deepEqual(store.listCommands({ states: ['acked'] }).map((x) => x.id), ['c1']);
    assert.equal(store.listCommands({ deviceId: 'other' }).length, 0);
    await store.close();
  });

  it('tracks devices and counters', async () => {
    const { store } = openStore(opts(newDir()));
    store.upsertDevice({ deviceId: 'd1', protocol: 'h02', transport: 'tcp', remote: '1.2.3.4:5', seenMs: 10, online: true });
    store.upsertDevice({ deviceId: 'd1', protocol: 'h02', transport: 'tcp', remote: null, seenMs: 20, online: true, lastPosition: '{"lat":1}' });
    store.markAllDevicesOffline(30);
    const d = store.getDevice('d1');
    assert.equal(d?.online, false);
    assert.equal(d?.remote, '1.2.3.4:5');
    assert.equal(d?.lastSeenMs, 20);
    assert.equal(d?.lastPosition, '{"lat":1}');
    assert.equal(store.incrementCounter('uplink.session'), 1);
    assert.equal(store.incrementCounter('uplink.session'), 2);
    await store.close();
  });

  it('deletes runs of seqs by range without touching the other lane in between; reads without frames on request', async () => {
    const { store } = openStore(opts(newDir()));
    store.append([pos(1), pos(2), alarm(3), pos(4), alarm(5), pos(6), pos(7), pos(8)]);
    const posRows = store.readBatch({ lane: 'pos', afterSeq: 0, limit: 100, maxBytes: 1e9 });
    assert.deepEqual(posRows.map((r) => r.seq), [1, 2, 4, 6, 7, 8]);
    assert.ok(posRows.every((r) => r.raw !== null), 'frames by default');
    const noRaw = store.readBatch({ lane: 'pos', afterSeq: 0, limit: 100, maxBytes: 1e9, withRaw: false });
    assert.deepEqual(noRaw.map((r) => [r.seq, r.raw, r.bytes, r.payload]), posRows.map((r) => [r.seq, null, r.bytes, r.payload]));
    const bytesBefore = store.stats().backlog.bytes;
    // Unsorted, with a seq already gone (2 twice) and one that never existed (99).
    assert.equal(store.deleteSeqs([8, 4, 1, 2, 6, 7, 2, 99]), 6);
    assert.deepEqual(store.readBatch({ lane: 'evt', afterSeq: 0, limit: 100, maxBytes: 1e9 }).map((r) => r.seq), [3, 5]);
    assert.deepEqual(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 100, maxBytes: 1e9 }), []);
    const st = store.stats().backlog;
    assert.equal(st.rows, 2);
    assert.equal(st.posRows, 0);
    assert.equal(bytesBefore - st.bytes, posRows.reduce((n, r) => n + r.bytes, 0));
    await store.close();
  });

  it('a failed group commit hands its seqs out again and leaves the backlog counters as they were', async () => {
    const { store } = openStore(opts(newDir()));
    assert.equal((await store.enqueue(pos(1))).seq, 1);
    // A row the schema refuses (lane CHECK) fails its whole group, the good row with it.
    const bad = { ...pos(2), lane: 'nope' } as unknown as NewOutboxRow;
    const results = await Promise.allSettled([store.enqueue(pos(2)), store.enqueue(bad)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal((await store.enqueue(pos(3))).seq, 2, 'no hole in the seqs the cloud sees');
    assert.equal(store.stats().backlog.rows, 2);
    assert.throws(() => store.append([pos(4), bad]));
    assert.equal(store.append([pos(5)])[0]?.seq, 3);
    assert.equal(store.stats().backlog.rows, 3);
    assert.equal(store.stats().backlog.bytes, store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10, maxBytes: 1e9 }).reduce((n, r) => n + r.bytes, 0));
    await store.close();
  });

  it('close() commits what is pending', async () => {
    const dir = newDir();
    const a = openStore(opts(dir, { groupCommitMs: 10_000 })).store;
    const p = a.enqueue(pos(1));
    await a.close();
    assert.equal((await p).seq, 1);
    const b = openStore(opts(dir)).store;
    assert.equal(b.stats().backlog.rows, 1);
    await b.close();
  });

  it('keeps every acknowledged row across kill -9 (synchronous FULL)', async () => {
    const dir = newDir();
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./crash-writer.ts', import.meta.url).pathname, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('crash writer produced too little')), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) acked.push(Number(l));
        if (acked.length >= 2000) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    const { store } = openStore(opts(dir));
    const present = new Set(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 1_000_000, maxBytes: 1e12 }).map((r) => r.seq));
    const missing = acked.filter((s) => !present.has(s));
    assert.deepEqual(missing, [], `${missing.length} acknowledged rows lost`);
    await store.close();
  });
});

describe('Store group-commit back-pressure', () => {
  it('refuses device rows beyond 10 x groupCommitMaxRows pending, and gives gateway events their room beyond that', async () => {
    const { store } = openStore(opts(newDir(), { groupCommitMaxRows: 2, gatewayEventRoom: 100 }));
    const results: Array<{ origin: string; err: unknown }> = [];
    // One synchronous burst: nothing commits until it ends.
    for (let i = 0; i < 30; i++) store.enqueueThen(pos(i), (err) => results.push({ origin: 'device', err }));
    for (let i = 0; i < 110; i++) store.enqueueThen(pos(100 + i), (err) => results.push({ origin: 'gateway', err }), 'gateway');
    await store.flush();
    await waitFor(() => results.length === 140, 'every callback');
    const refused = (origin: string) => results.filter((r) => r.origin === origin && r.err instanceof StoreError && r.err.code === 'full').length;
    assert.equal(refused('device'), 10, 'device rows beyond 20 pending are refused (the unit repeats them)');
    assert.equal(refused('gateway'), 10, 'gateway events are taken up to 20 + 100 pending in all');
    store.enqueueThen(pos(999), (err) => results.push({ origin: 'late', err }));
    await store.flush();
    await waitFor(() => results.length === 141, 'the late row');
    assert.equal(results.at(-1)?.err, undefined, 'once drained, device rows are taken again');
    assert.equal(store.stats().totalRecords, 121);
    await store.close();
  });
});

describe('Store with synchronous=full: the WAL sync runs off the event loop', () => {
  /** A WAL sync the test releases by hand, so "committed but not yet durable" can be observed. */
  function heldSync() {
    const held: Array<(err: NodeJS.ErrnoException | null) => void> = [];
    return {
      held,
      walSync: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void held.push(done),
      async waitHeld(n: number): Promise<void> {
        for (let i = 0; i < 500 && held.length < n; i++) await new Promise((r) => setTimeout(r, 2));
        assert.ok(held.length >= n, `expected ${n} WAL syncs to be started, saw ${held.length}`);
      },
    };
  }
  const readAll = (store: ReturnType<typeof openStore>['store']) => store.readBatch({ lane: 'pos', afterSeq: 0, limit: 1000, maxBytes: 1e9 }).map((r) => r.seq);

  it('acknowledges, shows and announces a group only after its WAL sync', { timeout: 15_000 }, async () => {
    const sync = heldSync();
    const { store } = openStore(opts(newDir(), { synchronous: 'full', walSync: sync.walSync }));
    const announced: number[] = [];
    store.onCommit((rows) => announced.push(...rows.map((r) => r.seq)));
    let resolved = false;
    const done = Promise.all([store.enqueue(pos(1)), store.enqueue(pos(2))]).then((rows) => {
      resolved = true;
      return rows;
    });
    await sync.waitHeld(1);
    assert.equal(store.commitCount, 1, 'the group is committed');
    assert.equal(resolved, false, 'no waiter hears of it before the sync');
    assert.deepEqual(readAll(store), [], 'the uplink cannot read rows that are not durable yet');
    assert.deepEqual(announced, []);
    // A second group committed meanwhile waits for the next sync, not the one in flight.
    const third = store.enqueue(pos(3));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.commitCount, 2);
    assert.equal(sync.held.length, 1, 'one sync in flight at a time');
    sync.held[0]?.(null);
    assert.deepEqual((await done).map((r) => r.seq), [1, 2]);
    assert.deepEqual(readAll(store), [1, 2]);
    assert.deepEqual(announced, [1, 2]);
    await sync.waitHeld(2);
    sync.held[1]?.(null);
    assert.equal((await third).seq, 3);
    assert.deepEqual(readAll(store), [1, 2, 3]);
    await store.close();
  });

  it('a failed WAL sync acknowledges nothing of its groups; a later sync makes the rows visible', { timeout: 15_000 }, async () => {
    const sync = heldSync();
    const { store } = openStore(opts(newDir(), { synchronous: 'full', walSync: sync.walSync }));
    const failed = store.enqueue(pos(1));
    await sync.waitHeld(1);
    sync.held[0]?.(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await assert.rejects(failed, (err: unknown) => err instanceof StoreError && err.code === 'io');
    assert.deepEqual(readAll(store), []);
    const next = store.enqueue(pos(2));
    await sync.waitHeld(2);
    sync.held[1]?.(null);
    assert.equal((await next).seq, 2);
    // The row of the failed sync was committed: it reaches the cloud, only its ACK was withheld.
    assert.deepEqual(readAll(store), [1, 2]);
    await store.close();
  });

  it('close() takes no new rows and resolves once the pending ones are durable', { timeout: 15_000 }, async () => {
    const sync = heldSync();
    const { store } = openStore(opts(newDir(), { synchronous: 'full', walSync: sync.walSync, groupCommitMs: 10_000 }));
    const pending = store.enqueue(pos(1));
    let closed = false;
    const closing = store.close().then(() => (closed = true));
    await assert.rejects(store.enqueue(pos(2)), (err: unknown) => err instanceof StoreError && err.code === 'closed');
    await sync.waitHeld(1);
    assert.equal(closed, false, 'close waits for the sync');
    sync.held[0]?.(null);
    assert.equal((await pending).seq, 1);
    await closing;
    const { store: reopened } = openStore(opts(store.path.replace(/\/gateway\.db$/, '')));
    assert.deepEqual(readAll(reopened), [1]);
    await reopened.close();
  });

  it('syncs on the event loop once too many committed rows wait for a slow disk (back-pressure)', { timeout: 15_000 }, async () => {
    const sync = heldSync();
    const { store } = openStore(opts(newDir(), { synchronous: 'full', walSync: sync.walSync, groupCommitMaxRows: 2, groupCommitMs: 1 }));
    const announced: number[] = [];
    store.onCommit((rows) => announced.push(...rows.map((r) => r.seq)));
    const first = [store.enqueue(pos(0)), store.enqueue(pos(1))];
    await sync.waitHeld(1);
    // The held sync never completes: only the inline sync past 2 x 10 waiting rows can release them.
    const rows = await Promise.all([...first, ...Array.from({ length: 18 }, (_, i) => store.enqueue(pos(i + 2)))]);
    const all = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.deepEqual(rows.map((r) => r.seq), all);
    assert.deepEqual(readAll(store), all);
    assert.equal(sync.held.length, 1, 'the slow sync is still in flight');
    sync.held[0]?.(null);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(announced, all, 'each row announced once');
    await store.close();
  });

  it('releases rows through the default WAL sync (fdatasync on the thread pool) when none is injected', { timeout: 15_000 }, async () => {
    const { store } = openStore(opts(newDir(), { synchronous: 'full' }));
    const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => store.enqueue(pos(i))));
    assert.equal(rows.length, 20);
    assert.equal(readAll(store).length, 20);
    await store.close();
  });

  it('indexes only the evt lane (migration 3), and both lanes read in seq order', { timeout: 15_000 }, async () => {
    const { store } = openStore(opts(newDir()));
    store.append([pos(1), alarm(2), pos(3), alarm(4)]);
    assert.deepEqual(readAll(store), [1, 3]);
    assert.deepEqual(store.readBatch({ lane: 'evt', afterSeq: 0, limit: 10, maxBytes: 1e9 }).map((r) => r.seq), [2, 4]);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(store.path, { readonly: true });
    const indexes = (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'").all() as Array<{ name: string; sql: string | null }>).filter((i) => i.sql);
    assert.deepEqual(indexes.map((i) => i.name), ['outbox_evt_seq']);
    const plan = (db.prepare("EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE lane = 'evt' AND seq > 0 AND seq < 9 ORDER BY seq LIMIT 5").all() as Array<{ detail: string }>).map((r) => r.detail).join(' ');
    assert.match(plan, /outbox_evt_seq/);
    db.close();
    await store.close();
  });
});

describe('Store WAL checkpoints', () => {
  const walSize = (store: ReturnType<typeof openStore>['store']) => {
    try {
      return statSync(`${store.path}-wal`).size;
    } catch {
      return 0;
    }
  };

  for (const checkpointOn of ['loop', 'worker'] as const) {
  it(`starts the WAL over after each background checkpoint while group commits go on (${checkpointOn})`, { timeout: 60_000 }, async () => {
    // Commits every millisecond, so one lands during each background run: without the remainder
    // copied between commits, SQLite did not start the WAL over after such a run and the WAL
    // grew while it held everything written since the last run without a commit in it.
    const { store } = openStore(opts(newDir(), { checkpointAfterBytes: 256 * 1024, groupCommitMs: 1, synchronous: 'full', checkpointOn }));
    let written = 0;
    let maxWal = 0;
    // Each time SQLite starts the WAL over it writes a new header with new salts (bytes 16-23).
    // Counting the salts seen measures the restarts whatever the machine's speed, where the
    // file's size (its high-water mark) grew with any stall of the worker on a loaded machine.
    const walStarts = new Set<string>();
    const header = Buffer.alloc(24);
    const deadline = Date.now() + 20_000;
    for (let tick = 0; tick < 2000 && Date.now() < deadline; tick++) {
      for (let k = 0; k < 20; k++) store.enqueueThen(pos(written++, 400), () => {});
      await new Promise((r) => setTimeout(r, 1));
      if (tick % 5 === 0) {
        maxWal = Math.max(maxWal, walSize(store));
        const fd = openSync(`${store.path}-wal`, 'r');
        if (readSync(fd, header, 0, 24, 0) === 24) walStarts.add(header.subarray(16, 24).toString('hex'));
        closeSync(fd);
      }
    }
    await store.flush();
    await store.checkpointIdle();
    const runs = store.backgroundCheckpoints;
    assert.ok(runs >= 5, `background checkpoints: ${runs}`);
    // Measured: one start per run with the remainder copied (130 of 130, 134 of 133), a third
    // to under half without it (38 of 135, 59 of 134).
    assert.ok(walStarts.size >= 0.75 * runs, `the WAL started ${walStarts.size} times for ${runs} background checkpoints (file up to ${maxWal} bytes for ${written * 400} bytes of rows)`);
    await store.close();
  });
  }

  /** the WAL header's salts: SQLite writes new ones each time it starts the file over */
  const walSalts = (store: ReturnType<typeof openStore>['store']): string => {
    const header = Buffer.alloc(24);
    const fd = openSync(`${store.path}-wal`, 'r');
    try {
      return readSync(fd, header, 0, 24, 0) === 24 ? header.subarray(16, 24).toString('hex') : '';
    } finally {
      closeSync(fd);
    }
  };
  /** one group of rows a millisecond, as steady ingest commits */
  const ingestTicks = async (store: ReturnType<typeof openStore>['store'], ticks: number, from: number, until: () => boolean = () => false): Promise<number> => {
    let i = from;
    const deadline = Date.now() + 20_000;
    for (let tick = 0; tick < ticks && !until() && Date.now() < deadline; tick++) {
      for (let k = 0; k < 20; k++) store.enqueueThen(pos(i++, 400), () => {});
      await new Promise((r) => setTimeout(r, 1));
    }
    return i;
  };

  it('keeps the WAL from starting over until the database file is synced after a copy made without fsyncs', { timeout: 60_000 }, async () => {
    // The loop checkpointer copies with synchronous=OFF. Were the WAL started over before the
    // database file reached the disk, a power cut would lose pages that existed only in the
    // page cache. Its database sync is held here while commits go on.
    const held: Array<() => void> = [];
    let hold = true;
    const { store } = openStore(
      opts(newDir(), {
        checkpointAfterBytes: 128 * 1024,
        groupCommitMs: 1,
        synchronous: 'full',
        checkpointOn: 'loop',
        dbSync: (fd, done) => (hold ? held.push(() => fdatasync(fd, done)) : fdatasync(fd, done)),
      }),
    );
    let next = await ingestTicks(store, 2000, 0, () => held.length > 0);
    assert.equal(held.length, 1, 'the checkpointer copied and asked for the database sync');
    const salts = walSalts(store);
    const size = statSync(`${store.path}-wal`).size;
    next = await ingestTicks(store, 200, next);
    await store.flush();
    assert.equal(walSalts(store), salts, 'the WAL did not start over while the database sync was pending');
    assert.ok(statSync(`${store.path}-wal`).size > size, 'commits went on, appended to the WAL');
    assert.equal(store.backgroundCheckpoints, 0);
    hold = false;
    held.splice(0).forEach((release) => release());
    await store.checkpointIdle();
    assert.ok(store.backgroundCheckpoints >= 1);
    await ingestTicks(store, 2000, next, () => walSalts(store) !== salts);
    assert.notEqual(walSalts(store), salts, 'the WAL starts over once the database file is synced');
    await store.close();
  });

  it('copies nothing when the WAL sync fails, and keeps the WAL pinned until a failed database sync succeeds', { timeout: 60_000 }, async () => {
    const warnings: string[] = [];
    const log = { info() {}, warn: (o: object, m?: string) => warnings.push(`${m} ${JSON.stringify(o)}`), error() {} };
    let failWal = false;
    let failDb = 0;
    const dbSyncs: number[] = [];
    const { store } = openStore(
      opts(newDir(), {
        log,
        synchronous: 'full',
        checkpointOn: 'loop',
        checkpointAfterBytes: 1e12,
        walSync: (fd, done) => (failWal ? setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))) : fdatasync(fd, done)),
        dbSync: (fd, done) => {
          dbSyncs.push(fd);
          if (failDb > 0) {
            failDb--;
            setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
          } else fdatasync(fd, done);
        },
      }),
    );
    store.append(Array.from({ length: 200 }, (_, k) => pos(k, 400)));
    const dbBytes = statSync(store.path).size;
    failWal = true;
    store.checkpoint('PASSIVE');
    await store.checkpointIdle();
    assert.equal(store.backgroundCheckpoints, 0);
    assert.equal(dbSyncs.length, 0, 'no copy, so no database sync');
    assert.equal(statSync(store.path).size, dbBytes, 'the database file is untouched: nothing was copied');
    assert.match(warnings.join('\n'), /WAL checkpoint failed.*EIO/);
    failWal = false;

    failDb = 1;
    store.checkpoint('PASSIVE');
    await store.checkpointIdle();
    assert.equal(store.backgroundCheckpoints, 0);
    assert.ok(statSync(store.path).size > dbBytes, 'the copy reached the database file');
    assert.match(warnings.join('\n'), /"snapshotPinned":true/);
    const salts = walSalts(store);
    store.append(Array.from({ length: 50 }, (_, k) => pos(1000 + k, 400)));
    assert.equal(walSalts(store), salts, 'pinned: the WAL did not start over after the failed database sync');

    store.checkpoint('PASSIVE');
    await store.checkpointIdle();
    assert.equal(dbSyncs.length, 3, 'the retry synced the database first, then after its own copy');
    assert.equal(store.backgroundCheckpoints, 1);
    store.append([pos(2000, 400)]);
    assert.notEqual(walSalts(store), salts, 'the WAL starts over once everything copied is synced');
    assert.equal(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10_000, maxBytes: 1e12 }).length, 251);
    await store.close();
  });

  it('does not wait for ever on a checkpoint worker that ended without an error', { timeout: 30_000 }, async () => {
    const { store } = openStore(opts(newDir()));
    store.append([pos(1)]);
    await store.close();
    const warnings: string[] = [];
    const checkpointer = new BackgroundCheckpointer(store.path, { warn: (o) => warnings.push(JSON.stringify(o)) });
    checkpointer.request();
    // Ended under it (as an OOM kill of the thread or a terminate would): no 'error' event.
    const worker = (checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker;
    await worker.terminate();
    await checkpointer.idle();
    await checkpointer.close();
    assert.equal(checkpointer.completed, 0);
    assert.match(warnings.join(' '), /checkpoint worker exited/);
  });

  it('a worker ending after it went idle does not end the next worker\'s checkpoint', { timeout: 30_000 }, async () => {
    const { store } = openStore(opts(newDir()));
    store.append([pos(1)]);
    await store.close();
    const warnings: string[] = [];
    const checkpointer = new BackgroundCheckpointer(store.path, { warn: (o) => warnings.push(JSON.stringify(o)) }, { idleMs: 10 });
    checkpointer.request();
    await checkpointer.idle();
    // The idle timer terminates the first worker; a request right then starts a second one, and
    // the first one's exit arrives while the second is checkpointing.
    const first = (checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const terminate = first.terminate.bind(first);
    first.terminate = () => {
      const ended = terminate();
      checkpointer.request();
      return ended;
    };
    await waitFor(() => checkpointer.completed === 2, 'the second worker\'s checkpoint', 10_000);
    await checkpointer.close();
    assert.deepEqual(warnings, [], 'no checkpoint reported failed');
  });

  for (const checkpointOn of ['loop', 'worker'] as const) {
  it(`checkpoints off the commit path by bytes written, never inside a commit (${checkpointOn})`, { timeout: 30_000 }, async () => {
    const { store } = openStore(opts(newDir(), { checkpointAfterBytes: 64 * 1024, checkpointOn }));
    for (let i = 0; i < 20; i++) {
      store.append(Array.from({ length: 100 }, (_, k) => pos(i * 100 + k, 400)));
      await store.checkpointIdle();
    }
    await waitFor(() => store.backgroundCheckpoints > 0, 'background checkpoints ran');
    assert.equal(store.inlineCheckpoints, 0, 'the event loop did not checkpoint');
    assert.equal(store.stats().checkpoints.remainder, store.backgroundCheckpoints, 'only the remainder after each background run');
    const { betweenCommits, worker } = store.stats().checkpoints;
    assert.equal(checkpointOn === 'loop' ? betweenCommits : worker, store.backgroundCheckpoints, `all on the ${checkpointOn}`);
    // The WAL is reused from its start after a complete checkpoint: it stays near the threshold
    // instead of holding all ~900 KB written.
    assert.ok(walSize(store) < 400 * 1024, `WAL ${walSize(store)} bytes`);
    assert.equal(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10_000, maxBytes: 1e12 }).length, 2000);
    await store.close();
  });
  }

  it('copies between commits at a depot\'s pace and on the worker in flood mode', { timeout: 30_000 }, async () => {
    // 50 rows of 400 bytes cross the threshold: each append asks for one checkpoint by bytes
    const { store } = openStore(opts(newDir(), { synchronous: 'full', checkpointAfterBytes: 16 * 1024 }));
    let next = 0;
    const crossThreshold = async () => {
      store.append(Array.from({ length: 50 }, () => pos(next++, 400)));
      await store.checkpointIdle();
    };
    const scheduled = async () => {
      store.checkpoint('PASSIVE');
      await store.checkpointIdle();
    };
    const where = () => [store.stats().checkpoints.betweenCommits, store.stats().checkpoints.worker];
    for (let i = 0; i < 3; i++) await crossThreshold();
    await scheduled();
    assert.deepEqual(where(), [4, 0], 'no worker thread at a depot\'s pace, scheduled checkpoints included');
    store.setFloodMode(true);
    for (let i = 0; i < 3; i++) await crossThreshold();
    await scheduled();
    assert.deepEqual(where(), [4, 4], 'in flood mode: the worker');
    store.setFloodMode(false);
    await crossThreshold();
    assert.deepEqual(where(), [5, 4], 'back between commits once the flood is over');
    assert.equal(store.readBatch({ lane: 'pos', afterSeq: 0, limit: 10_000, maxBytes: 1e12 }).length, next);
    await store.close();
  });

  it('without the worker, the event loop checkpoints at four times the threshold', { timeout: 30_000 }, async () => {
    const { store } = openStore(opts(newDir(), { checkpointAfterBytes: 64 * 1024, backgroundCheckpoint: false }));
    for (let i = 0; i < 20; i++) store.append(Array.from({ length: 100 }, (_, k) => pos(i * 100 + k, 400)));
    assert.ok(store.inlineCheckpoints >= 2, `inline checkpoints: ${store.inlineCheckpoints}`);
    assert.equal(store.backgroundCheckpoints, 0);
    assert.ok(walSize(store) < 600 * 1024, `WAL ${walSize(store)} bytes`);
    await store.close();
  });

  it('the ops job checkpoint goes to the worker; close() truncates the WAL', { timeout: 30_000 }, async () => {
    const { store } = openStore(opts(newDir()));
    store.append(Array.from({ length: 100 }, (_, k) => pos(k, 400)));
    store.checkpoint('PASSIVE');
    await store.checkpointIdle();
    await waitFor(() => store.backgroundCheckpoints === 1, 'the requested checkpoint ran');
    const path = store.path;
    await store.close();
    assert.equal(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0);
  });
});
