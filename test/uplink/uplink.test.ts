import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { openStore, type Store } from '../../src/store/store.js';
import type { NewOutboxRow } from '../../src/store/types.js';
import { Uplink, type UplinkOptions } from '../../src/uplink/uplink.js';
import { topicRoot } from '../../src/uplink/topics.js';
import { Collector, startBroker, type TestBroker } from '../helpers/broker.js';
import { silentLog, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function newStore(): Store {
  const t = tempDir('tkgw-uplink-');
  const { store } = openStore({ dataDir: t.dir, quotaBytes: 1e9, synchronous: 'normal', groupCommitMs: 2, groupCommitMaxRows: 500, allowTmpfs: true });
  cleanups.push(async () => {
    await store.close().catch(() => undefined);
    t.cleanup();
  });
  return store;
}

let gwCounter = 0;
function uplinkOptions(url: string, over: Partial<UplinkOptions> = {}): UplinkOptions {
  return {
    url,
    gatewayId: `gw-test-${process.pid}-${++gwCounter}`,
    tenant: 'default',
    topicRoot: 'depot/v1/{tenant}/gw/{gatewayId}',
    rejectUnauthorized: true,
    protocolVersion: 5,
    keepaliveSec: 10,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    batchMaxRecords: 200,
    batchMaxBytes: 65536,
    batchMaxDelayMs: 10,
    compress: false,
    includeRaw: false,
    ackMode: 'puback',
    inflightWindow: 16,
    publishTimeoutSec: 20,
    backlogBytesPerSec: 0,
    budgetBytesPerDay: 0,
    budgetBytesPerMonth: 0,
    version: 'test',
    info: {},
    ...over,
  };
}

const pos = (i: number, device = 'dev1'): NewOutboxRow => ({
  deviceId: device,
  lane: 'pos',
  type: 'position',
  protected: false,
  receivedAtMs: Date.now(),
  payload: JSON.stringify({ v: 1, deviceId: device, type: 'position', i }),
  raw: Buffer.from('2a48512c', 'hex'),
});
const alarm = (i: number): NewOutboxRow => ({ ...pos(i), lane: 'evt', type: 'alarm', protected: true, payload: JSON.stringify({ v: 1, type: 'alarm', alarms: ['sos'], i }) });

function startUplink(store: Store, opts: UplinkOptions): Uplink {
  const u = new Uplink(opts, { outbox: store, log: silentLog, now: Date.now });
  u.start();
  cleanups.push(() => u.stop());
  return u;
}

describe('uplink against a real mosquitto', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
    cleanups.push(() => broker.stop());
  });

  it('drains a backlog: every seq once, alarms ahead of history, outbox empty', async () => {
    const store = newStore();
    for (let i = 0; i < 20; i++) store.append(Array.from({ length: 100 }, (_, k) => pos(i * 100 + k)));
    store.append([alarm(1), alarm(2)]);
    const opts = uplinkOptions(broker.url);
    const collector = await Collector.connect(broker.url, topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId));
    cleanups.push(() => collector.close());
    startUplink(store, opts);
    await waitFor(() => collector.seqCount.size === 2002, 'all 2002 records', 20_000);
    await waitFor(() => store.stats().backlog.rows === 0, 'outbox emptied by PUBACKs');
    assert.equal(collector.duplicates, 0);
    const firstPos = collector.records.findIndex((r) => r.topic.endsWith('/up/pos'));
    const lastEvt = collector.records.map((r) => r.topic.endsWith('/up/evt')).lastIndexOf(true);
    assert.ok(lastEvt < firstPos, 'alarms were sent before the history');
    assert.ok(collector.records.filter((r) => r.topic.endsWith('/up/pos')).every((r) => r.hist), 'backlog marked hist');
    const seqs = collector.records.filter((r) => r.topic.endsWith('/up/pos')).map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'history in seq order');
  });

  it('survives a broker kill and restart mid-stream without losing a seq', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url);
    const collector = await Collector.connect(broker.url, topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId));
    cleanups.push(() => collector.close());
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    let n = 0;
    const writer = setInterval(() => store.append(Array.from({ length: 20 }, () => pos(n++))), 10);
    await waitFor(() => collector.seqCount.size > 200, 'live traffic flowing');
    await broker.restart('SIGTERM');
    await waitFor(() => n > 2000, 'more traffic during and after the outage', 20_000);
    clearInterval(writer);
    await waitFor(() => uplink.state().connected && store.stats().backlog.rows === 0, 'backlog drained after restart', 30_000);
    await waitFor(() => collector.seqCount.size === n, `all ${n} seqs at the subscriber (have ${collector.seqCount.size})`, 20_000);
    assert.ok(uplink.state().reconnects >= 1);
  });

  it('detects a hung broker (SIGSTOP) by the PUBACK timeout and loses nothing', async () => {
    const hung = await startBroker();
    cleanups.push(() => hung.stop());
    const store = newStore();
    const opts = uplinkOptions(hung.url, { publishTimeoutSec: 1.5 });
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    hung.pause();
    store.append(Array.from({ length: 50 }, (_, i) => pos(i)));
    await waitFor(() => (uplink.state().lastError ?? '').includes('no PUBACK'), 'hung broker detected', 10_000);
    assert.equal(store.stats().backlog.rows, 50, 'nothing deleted without PUBACK');
    hung.resume();
    const collector = await Collector.connect(hung.url, topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId));
    cleanups.push(() => collector.close());
    store.append([pos(999)]);
    await waitFor(() => store.stats().backlog.rows === 0, 'resent after reconnect', 20_000);
  });

  it('app ack mode keeps rows until down/ack; a restart resends them with the same seqs', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { ackMode: 'app' });
    const root = topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId);
    const collector = await Collector.connect(broker.url, root);
    cleanups.push(() => collector.close());
    store.append(Array.from({ length: 30 }, (_, i) => pos(i)));
    const first = new Uplink(opts, { outbox: store, log: silentLog, now: Date.now });
    first.start();
    await waitFor(() => collector.seqCount.size === 30, 'first delivery');
    await waitFor(() => first.state().acked === 30, 'PUBACKs');
    assert.equal(store.stats().backlog.rows, 30, 'rows stay until the cloud acknowledges');
    await first.stop();
    const second = startUplink(store, opts);
    await waitFor(() => collector.duplicates === 30, 'resent after restart');
    assert.deepEqual(collector.uniqueSeqs().length, 30, 'same seqs, nothing new');
    const cloud = await mqtt.connectAsync(broker.url);
    await cloud.publishAsync(`${root}/down/ack`, JSON.stringify({ v: 1, upTo: 20 }), { qos: 1 });
    await waitFor(() => store.stats().backlog.rows === 10, 'down/ack deleted up to 20');
    await cloud.publishAsync(`${root}/down/ack`, 'not json', { qos: 1 });
    await cloud.publishAsync(`${root}/down/ack`, JSON.stringify({ v: 1, upTo: 30 }), { qos: 1 });
    await waitFor(() => store.stats().backlog.rows === 0, 'down/ack deleted the rest');
    await cloud.endAsync();
    assert.ok(second.state().connected);
  });

  it('gzip batches go to /z with ce=gzip and decode to the same records', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { compress: true });
    const collector = await Collector.connect(broker.url, topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId), { protocolVersion: 5 });
    cleanups.push(() => collector.close());
    store.append(Array.from({ length: 500 }, (_, i) => pos(i)));
    startUplink(store, opts);
    await waitFor(() => collector.seqCount.size === 500, 'all records');
    const z = collector.messages.filter((m) => m.topic.endsWith('/up/pos/z'));
    assert.ok(z.length > 0);
    const totalBytes = z.reduce((n, m) => n + m.payload.length, 0);
    assert.ok(totalBytes / 500 < 40, `gzip bytes per record ${totalBytes / 500}`);
  });

  it('publishes a retained status: online with a growing session, offline on stop', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url);
    const root = topicRoot(opts.topicRoot, opts.tenant, opts.gatewayId);
    const u1 = new Uplink(opts, { outbox: store, log: silentLog, now: Date.now });
    u1.start();
    await waitFor(() => u1.state().connected, 'first connect');
    const s1 = u1.state().session;
    await u1.stop();
    const u2 = startUplink(store, opts);
    await waitFor(() => u2.state().connected, 'second connect');
    assert.ok(u2.state().session > s1);
    const watcher = await mqtt.connectAsync(broker.url);
    const statuses: Array<{ state: string; session: number }> = [];
    watcher.on('message', (_t, p) => statuses.push(JSON.parse(p.toString()) as { state: string; session: number }));
    await watcher.subscribeAsync(`${root}/up/status`, { qos: 1 });
    await waitFor(() => statuses.length >= 1, 'retained status');
    assert.equal(statuses[0]?.state, 'online');
    assert.equal(statuses[0]?.session, u2.state().session);
    await u2.stop();
    await waitFor(() => statuses.some((s) => s.state === 'offline' && s.session === u2.state().session), 'offline status');
    await watcher.endAsync();
  });

  it('reports a bad URL or an unreachable broker clearly and keeps buffering', async () => {
    const store = newStore();
    const u = startUplink(store, uplinkOptions('mqtt://127.0.0.1:1', { reconnectMinMs: 50 }));
    await waitFor(() => (u.state().lastError ?? '') !== '', 'an error reported');
    assert.match(u.state().lastError ?? '', /refused/);
    store.append([pos(1)]);
    assert.equal(store.stats().backlog.rows, 1);
    assert.equal(u.state().connected, false);
  });
});

describe('uplink over TLS', () => {
  const t = tempDir('tkgw-tls-');
  after(t.cleanup);
  const f = (n: string) => join(t.dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

  it('connects with the right CA and refuses a wrong one with a clear error', async () => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    writeText(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('server.pem'));
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other-ca', '-keyout', f('other.key'), '-out', f('other.pem'));
    const broker = await startBroker({ tls: { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') } });
    cleanups.push(() => broker.stop());
    const good = startUplink(newStore(), uplinkOptions(broker.url, { caFile: f('ca.pem') }));
    await waitFor(() => good.state().connected, 'TLS connect with the right CA', 15_000);
    const bad = startUplink(newStore(), uplinkOptions(broker.url, { caFile: f('other.pem'), reconnectMinMs: 5000 }));
    await waitFor(() => (bad.state().lastError ?? '') !== '', 'TLS refusal reported', 15_000);
    assert.match(bad.state().lastError ?? '', /TLS certificate rejected/);
    assert.equal(bad.state().connected, false);
  });
});

function writeText(path: string, text: string): void {
  writeFileSync(path, text);
}
