import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { openStore, type Store } from '../../src/store/store.js';
import type { NewOutboxRow } from '../../src/store/types.js';
import { Uplink, type UplinkLogger, type UplinkOptions } from '../../src/uplink/uplink.js';
import { topicRoot } from '../../src/uplink/topics.js';
import { Collector, startBroker, startTcpProxy, type TestBroker } from '../helpers/broker.js';
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
    keepaliveSec: 10,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    batchMaxDelayMs: 10,
    version: 'test',
    ...over,
  };
}
const rootOf = (o: UplinkOptions) => topicRoot(o.topicRoot, o.tenant, o.gatewayId);

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
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Captures what the uplink logs, for the "clear error" assertions. */
function recordingLog() {
  const lines: Array<{ level: string; obj: object; msg: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') }, text: () => lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj)}`).join('\n') };
}

function startUplink(store: Store, opts: UplinkOptions, log: UplinkLogger = silentLog): Uplink {
  const u = new Uplink(opts, { outbox: store, log, now: Date.now });
  u.start();
  cleanups.push(() => u.stop());
  return u;
}

async function collect(url: string, opts: UplinkOptions, extra: mqtt.IClientOptions = {}): Promise<Collector> {
  const c = await Collector.connect(url, rootOf(opts), extra);
  cleanups.push(() => c.close());
  return c;
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
    const collector = await collect(broker.url, opts);
    const uplink = startUplink(store, opts);
    await waitFor(() => collector.seqCount.size === 2002, 'all 2002 records', 15_000);
    await waitFor(() => store.stats().backlog.rows === 0, 'outbox emptied by PUBACKs');
    assert.equal(collector.duplicates, 0);
    assert.deepEqual(collector.uniqueSeqs(), range(1, 2002));
    const firstPos = collector.records.findIndex((r) => r.topic.endsWith('/up/pos'));
    const lastEvt = collector.records.map((r) => r.topic.endsWith('/up/evt')).lastIndexOf(true);
    assert.ok(lastEvt < firstPos, 'alarms were sent before the history');
    assert.ok(collector.records.every((r) => r.hist), 'the whole backlog is marked hist');
    const seqs = collector.records.filter((r) => r.topic.endsWith('/up/pos')).map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'history in seq order');
    assert.equal(uplink.state().acked, 2002);
    assert.ok(uplink.state().bytesSentToday > 2002 * 40);
  });

  it('sends live positions ahead of a paced history drain, as a separate stream', async () => {
    const store = newStore();
    store.append(Array.from({ length: 300 }, (_, i) => pos(i)));
    const backlogBytes = store.stats().backlog.bytes;
    // About two seconds of history at this rate: long enough for live rows to overtake it.
    const opts = uplinkOptions(broker.url, { backlogBytesPerSec: Math.ceil(backlogBytes / 2), batchMaxRecords: 20 });
    const collector = await collect(broker.url, opts);
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    store.append(Array.from({ length: 5 }, (_, i) => pos(1000 + i, 'dev2')));
    await waitFor(() => collector.records.some((r) => !r.hist), 'live records', 10_000);
    const histBeforeLive = collector.records.filter((r) => r.hist).length;
    assert.ok(histBeforeLive < 300, `live arrived before the history finished (${histBeforeLive} of 300 history records ahead of it)`);
    await waitFor(() => collector.seqCount.size === 305, 'history completes', 15_000);
    assert.deepEqual(collector.records.filter((r) => !r.hist).map((r) => r.seq), range(301, 305));
    assert.deepEqual(collector.records.filter((r) => r.hist).map((r) => r.seq), range(1, 300));
  });

  it('detects a hung broker (SIGSTOP) by the PUBACK timeout, reconnects and loses nothing', async () => {
    const hung = await startBroker();
    cleanups.push(() => hung.stop());
    const store = newStore();
    const opts = uplinkOptions(hung.url, { publishTimeoutSec: 1 });
    const collector = await collect(hung.url, opts);
    const log = recordingLog();
    const uplink = startUplink(store, opts, log.log);
    await waitFor(() => uplink.state().connected, 'connected');
    hung.pause();
    try {
      store.append(Array.from({ length: 50 }, (_, i) => pos(i)));
      await waitFor(() => (uplink.state().lastError ?? '').includes('no PUBACK'), 'hung broker detected', 10_000);
      assert.equal(store.stats().backlog.rows, 50, 'nothing deleted without PUBACK');
      assert.match(log.text(), /broker stopped acknowledging/);
    } finally {
      hung.resume();
    }
    await waitFor(() => store.stats().backlog.rows === 0, 'resent after the reconnect', 15_000);
    await waitFor(() => collector.seqCount.size === 50, `every seq at the subscriber (have ${collector.seqCount.size})`, 10_000);
    assert.deepEqual(collector.uniqueSeqs(), range(1, 50));
    assert.ok(uplink.state().reconnects >= 1);
  });

  it('app ack mode keeps rows until down/ack; a new instance resends them with the same seqs', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { ackMode: 'app' });
    const root = rootOf(opts);
    const collector = await collect(broker.url, opts);
    store.append(Array.from({ length: 30 }, (_, i) => pos(i)));
    const first = new Uplink(opts, { outbox: store, log: silentLog, now: Date.now });
    first.start();
    await waitFor(() => collector.seqCount.size === 30, 'first delivery');
    await waitFor(() => first.state().acked === 30, 'PUBACKs');
    assert.equal(store.stats().backlog.rows, 30, 'PUBACK alone deletes nothing in app mode');
    assert.equal(collector.duplicates, 0, 'no resend within one connection');
    await first.stop();
    const second = startUplink(store, opts);
    await waitFor(() => collector.duplicates === 30, 'resent after restart');
    assert.deepEqual(collector.uniqueSeqs(), range(1, 30), 'same seqs, nothing new');
    const cloud = await mqtt.connectAsync(broker.url);
    try {
      await cloud.publishAsync(`${root}/down/ack`, JSON.stringify({ v: 1, upTo: 20 }), { qos: 1 });
      await waitFor(() => store.stats().backlog.rows === 10, 'down/ack deleted up to 20');
      await cloud.publishAsync(`${root}/down/ack`, 'not json', { qos: 1 });
      await cloud.publishAsync(`${root}/down/ack`, JSON.stringify({ v: 1, upTo: -3 }), { qos: 1 });
      await cloud.publishAsync(`${root}/down/ack`, JSON.stringify({ v: 1, upTo: 30 }), { qos: 1 });
      await waitFor(() => store.stats().backlog.rows === 0, 'down/ack deleted the rest');
    } finally {
      await cloud.endAsync();
    }
    assert.ok(second.state().connected);
  });

  it('gzip batches go to /z with ce=gzip and decode to the same records; raw hex on request', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { compress: true, includeRaw: true });
    const collector = await collect(broker.url, opts);
    store.append(Array.from({ length: 500 }, (_, i) => pos(i)));
    store.append([alarm(1)]);
    startUplink(store, opts);
    await waitFor(() => collector.seqCount.size === 501, 'all records');
    const z = collector.messages.filter((m) => /\/up\/(pos|evt)\/z$/.test(m.topic));
    assert.ok(z.some((m) => m.topic.endsWith('/up/evt/z')) && z.some((m) => m.topic.endsWith('/up/pos/z')));
    assert.ok(z.every((m) => m.userProperties?.['ce'] === 'gzip'), 'MQTT 5 user property ce=gzip');
    assert.equal(collector.messages.filter((m) => /\/up\/(pos|evt)$/.test(m.topic)).length, 0, 'nothing uncompressed');
    const rec = collector.records.find((r) => r.seq === 7)?.rec;
    assert.deepEqual(rec, { seq: 7, raw: '2a48512c', v: 1, deviceId: 'dev1', type: 'position', i: 6 });
    const zBytes = z.reduce((n, m) => n + m.payload.length, 0);
    assert.ok(zBytes / 501 < 40, `gzip bytes per record ${zBytes / 501}`);
  });

  it('speaks MQTT 3.1.1 when configured: gzip marked by /z alone', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { protocolVersion: 4, compress: true });
    const collector = await collect(broker.url, opts);
    store.append(Array.from({ length: 20 }, (_, i) => pos(i)));
    const uplink = startUplink(store, opts);
    await waitFor(() => collector.seqCount.size === 20 && store.stats().backlog.rows === 0, 'all records over 3.1.1');
    assert.equal(uplink.state().protocolVersion, 4);
    const z = collector.messages.filter((m) => m.topic.endsWith('/up/pos/z'));
    assert.ok(z.length > 0 && z.every((m) => m.userProperties === undefined));
  });

  it('falls back to 3.1.1 when the broker refuses MQTT 5', async () => {
    const proxy = await startTcpProxy(broker.port, { only311: true });
    cleanups.push(() => proxy.close());
    const store = newStore();
    const opts = uplinkOptions(proxy.url, { reconnectMinMs: 100 });
    const collector = await collect(broker.url, opts);
    store.append(Array.from({ length: 10 }, (_, i) => pos(i)));
    const log = recordingLog();
    const uplink = startUplink(store, opts, log.log);
    await waitFor(() => store.stats().backlog.rows === 0 && collector.seqCount.size === 10, 'delivered over 3.1.1', 10_000);
    assert.equal(uplink.state().protocolVersion, 4);
    assert.match(log.text(), /refused MQTT 5: falling back to 3\.1\.1/);
  });

  it('publishes a retained status: online with a growing session, offline on stop', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url, { info: { devicesKnown: 3 } });
    const root = rootOf(opts);
    const u1 = new Uplink(opts, { outbox: store, log: silentLog, now: Date.now });
    u1.start();
    await waitFor(() => u1.state().connected, 'first connect');
    const s1 = u1.state().session;
    await u1.stop();
    const u2 = startUplink(store, opts);
    await waitFor(() => u2.state().connected, 'second connect');
    assert.ok(u2.state().session > s1);
    const watcher = await mqtt.connectAsync(broker.url);
    cleanups.push(() => watcher.endAsync(true));
    const seen: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];
    watcher.on('message', (topic, p, packet) => seen.push({ topic, body: JSON.parse(p.toString()) as Record<string, unknown>, retain: packet.retain }));
    await watcher.subscribeAsync([`${root}/up/status`, `${root}/up/info`], { qos: 1 });
    await waitFor(() => seen.length >= 2, 'retained status and info');
    const status = seen.find((m) => m.topic.endsWith('/up/status'));
    assert.deepEqual({ ...status?.body, ts: undefined }, { v: 1, state: 'online', ts: undefined, session: u2.state().session, version: 'test' });
    assert.equal(status?.retain, true);
    const info = seen.find((m) => m.topic.endsWith('/up/info'));
    assert.equal(info?.body['devicesKnown'], 3);
    assert.equal(info?.body['gw'], opts.gatewayId);
    await u2.stop();
    await waitFor(() => seen.some((m) => m.body['state'] === 'offline' && m.body['session'] === u2.state().session), 'offline status');
  });

  it('leaves its LWT when the connection dies, then comes back online with a higher session', async () => {
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const store = newStore();
    const opts = uplinkOptions(proxy.url, { reconnectMinMs: 300 });
    const watcher = await mqtt.connectAsync(broker.url);
    cleanups.push(() => watcher.endAsync(true));
    const statuses: Array<{ state: string; session: number }> = [];
    watcher.on('message', (_t, p) => statuses.push(JSON.parse(p.toString()) as { state: string; session: number }));
    await watcher.subscribeAsync(`${rootOf(opts)}/up/status`, { qos: 1 });
    const uplink = startUplink(store, opts);
    await waitFor(() => statuses.some((s) => s.state === 'online'), 'online');
    const session = uplink.state().session;
    proxy.cut();
    await waitFor(() => statuses.some((s) => s.state === 'offline'), 'the LWT');
    await waitFor(() => uplink.state().connected && statuses.filter((s) => s.state === 'online').length === 2, 'back online');
    const [online1, offline, online2] = statuses;
    assert.deepEqual(online1, { ...online1, state: 'online', session });
    assert.deepEqual(offline, { ...offline, state: 'offline', session }, 'the LWT carries the session it belongs to');
    assert.ok(online2 && online2.state === 'online' && online2.session > session);
  });

  it('caps the in-flight window at the broker Receive Maximum', async () => {
    const small = await startBroker({ extraConfig: ['max_inflight_messages 3'] });
    cleanups.push(() => small.stop());
    const store = newStore();
    const opts = uplinkOptions(small.url, { inflightWindow: 16, batchMaxRecords: 5 });
    const collector = await collect(small.url, opts);
    let peak = 0;
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    assert.equal(uplink.state().window, 3);
    store.append(Array.from({ length: 200 }, (_, i) => pos(i)));
    await waitFor(() => {
      peak = Math.max(peak, uplink.state().inflight);
      return collector.seqCount.size === 200;
    }, 'all records', 15_000, 1);
    assert.ok(peak <= 3, `peak in flight ${peak}`);
  });

  it('hands command requests to the handler with the MQTT 5 response route, and answers there', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url);
    const root = rootOf(opts);
    const uplink = startUplink(store, opts);
    const requests: Array<{ payload: string; responseTopic?: string; correlationData?: string }> = [];
    uplink.onCommandRequest((payload, meta) => {
      requests.push({ payload: payload.toString(), responseTopic: meta.responseTopic, correlationData: meta.correlationData?.toString() });
      uplink.publishResponse(meta, { v: 1, id: 'c1', state: 'accepted' });
    });
    await waitFor(() => uplink.state().connected, 'connected');
    const cloud = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => cloud.endAsync(true));
    const responses: Array<{ body: string; correlation?: string }> = [];
    cloud.on('message', (_t, p, packet) => responses.push({ body: p.toString(), correlation: packet.properties?.correlationData?.toString() }));
    await cloud.subscribeAsync('cloud/replies/1', { qos: 1 });
    // The uplink subscribes right after CONNACK; retry until the request is taken (bounded).
    await waitFor(async () => {
      await cloud.publishAsync(`${root}/down/cmd/req`, '{"v":1,"id":"c1"}', { qos: 1, properties: { responseTopic: 'cloud/replies/1', correlationData: Buffer.from('k-1') } });
      return requests.length > 0;
    }, 'command request delivered', 5000, 100);
    assert.deepEqual(requests[0], { payload: '{"v":1,"id":"c1"}', responseTopic: 'cloud/replies/1', correlationData: 'k-1' });
    await waitFor(() => responses.length > 0, 'response on the response topic');
    assert.deepEqual(responses[0], { body: '{"v":1,"id":"c1","state":"accepted"}', correlation: 'k-1' });
  });

  it('publishes health at QoS 0 while connected and drops it while offline', async () => {
    const store = newStore();
    const opts = uplinkOptions(broker.url);
    const collector = await collect(broker.url, opts);
    const offline = new Uplink(uplinkOptions('mqtt://127.0.0.1:1'), { outbox: store, log: silentLog, now: Date.now });
    offline.publishHealth({ backlogRows: 0 });
    assert.equal(offline.state().bytesSentToday, 0, 'nothing sent, nothing queued');
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    uplink.publishHealth({ backlogRows: 12 });
    await waitFor(() => collector.messages.some((m) => m.topic.endsWith('/up/health')), 'health message');
    const health = collector.messages.find((m) => m.topic.endsWith('/up/health'));
    assert.deepEqual(JSON.parse(health?.payload.toString() ?? ''), { v: 1, gw: opts.gatewayId, backlogRows: 12 });
  });

  it('reports bad configuration clearly, never throws from start(), and keeps buffering', async () => {
    const store = newStore();
    const cases: Array<[Partial<UplinkOptions> & { url: string }, RegExp]> = [
      [{ url: 'mqtt://127.0.0.1:1' }, /connection refused/],
      [{ url: 'http://broker.example' }, /bad uplink url/],
      [{ url: 'mqtts://127.0.0.1:1', caFile: '/nonexistent/ca.pem' }, /cannot read uplink CA file \/nonexistent\/ca\.pem: ENOENT/],
      [{ url: 'mqtt://127.0.0.1:1', disabledReason: 'uplink.certFile: not found' }, /disabled by its configuration: uplink\.certFile/],
    ];
    for (const [over, expected] of cases) {
      const log = recordingLog();
      const u = startUplink(store, uplinkOptions(over.url, { reconnectMinMs: 50, ...over }), log.log);
      await waitFor(() => (u.state().lastError ?? '') !== '', `an error for ${over.url}`);
      assert.match(u.state().lastError ?? '', expected);
      assert.match(log.text(), expected, 'logged as well');
      assert.equal(u.state().connected, false);
      await u.stop();
    }
    store.append([pos(1)]);
    assert.equal(store.stats().backlog.rows, 1);
  });
});

describe('uplink across broker outages', () => {
  it('survives a graceful broker restart mid-stream without losing a seq', async () => {
    const broker = await startBroker({ persistence: true });
    cleanups.push(() => broker.stop());
    const store = newStore();
    const opts = uplinkOptions(broker.url);
    const collector = await collect(broker.url, opts);
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    let n = 0;
    const writer = setInterval(() => store.append(Array.from({ length: 20 }, () => pos(n++))), 10);
    try {
      await waitFor(() => collector.seqCount.size > 200, 'live traffic flowing');
      await broker.restart('SIGTERM');
      await waitFor(() => n > 2000, 'more traffic during and after the outage', 15_000);
    } finally {
      clearInterval(writer);
    }
    await waitFor(() => uplink.state().connected && store.stats().backlog.rows === 0, 'backlog drained after restart', 15_000);
    await waitFor(() => collector.seqCount.size === n, `all ${n} seqs at the subscriber (have ${collector.seqCount.size})`, 15_000);
    assert.deepEqual(collector.uniqueSeqs(), range(1, n));
    assert.ok(uplink.state().reconnects >= 1);
  });

  it('with app acks, a broker killed -9 (no persistence) still costs no seq', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.stop());
    const store = newStore();
    // The broker forgets what it had not delivered: only a resend after the ack timeout recovers it.
    const opts = uplinkOptions(broker.url, { ackMode: 'app', appAckTimeoutSec: 1 });
    const collector = await collect(broker.url, opts);
    collector.startAcking(rootOf(opts));
    const uplink = startUplink(store, opts);
    await waitFor(() => uplink.state().connected, 'connected');
    let n = 0;
    const writer = setInterval(() => store.append(Array.from({ length: 20 }, () => pos(n++))), 10);
    try {
      await waitFor(() => collector.seqCount.size > 200, 'live traffic flowing');
      await broker.restart('SIGKILL');
      await waitFor(() => n > 2000, 'more traffic during and after the outage', 15_000);
    } finally {
      clearInterval(writer);
    }
    await waitFor(() => collector.contiguousUpTo() === n, `every seq up to ${n} (contiguous to ${collector.contiguousUpTo()})`, 15_000);
    await waitFor(() => store.stats().backlog.rows === 0, 'outbox emptied by down/ack', 10_000);
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
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('server.pem'));
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other-ca', '-keyout', f('other.key'), '-out', f('other.pem'));
    const broker = await startBroker({ tls: { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') } });
    cleanups.push(() => broker.stop());
    const goodStore = newStore();
    goodStore.append([pos(1)]);
    const good = startUplink(goodStore, uplinkOptions(broker.url, { caFile: f('ca.pem') }));
    await waitFor(() => good.state().connected && goodStore.stats().backlog.rows === 0, 'TLS connect with the right CA, record delivered', 15_000);
    const log = recordingLog();
    const bad = startUplink(newStore(), uplinkOptions(broker.url, { caFile: f('other.pem'), reconnectMinMs: 5000 }), log.log);
    await waitFor(() => (bad.state().lastError ?? '') !== '', 'TLS refusal reported', 15_000);
    assert.match(bad.state().lastError ?? '', /TLS certificate rejected/);
    assert.match(log.text(), /TLS certificate rejected/);
    assert.equal(bad.state().connected, false);
  });
});
