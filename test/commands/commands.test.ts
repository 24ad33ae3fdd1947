/**
 * Engine-cut commands end to end: a real mosquitto, the real gateway, simulated devices of every
 * family, requests on down/cmd/req and the lifecycle on up/cmd/res.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { signRequest } from '../../src/commands/request.js';
import type { ProtocolFamily } from '../../src/protocol/types.js';
import { startSimulation, type Simulation } from '../../src/sim/simulator.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

interface Result {
  id: string;
  state: string;
  reason?: string;
  deviceReply?: string;
}

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

class Operator {
  readonly results: Result[] = [];
  private constructor(
    readonly client: MqttClient,
    readonly root: string,
  ) {}
  static async connect(url: string, root: string): Promise<Operator> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
    const op = new Operator(client, root);
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/up/cmd/res')) op.results.push(JSON.parse(payload.toString()) as Result);
    });
    await client.subscribeAsync(`${root}/up/cmd/res`, { qos: 1 });
    return op;
  }
  async send(req: Record<string, unknown> | string, props?: mqtt.IClientPublishOptions['properties']): Promise<void> {
    await this.client.publishAsync(`${this.root}/down/cmd/req`, typeof req === 'string' ? req : JSON.stringify(req), { qos: 1, properties: props });
  }
  states(id: string): string[] {
    return this.results.filter((r) => r.id === id).map((r) => r.state);
  }
  async waitState(id: string, state: string, timeoutMs = 15_000): Promise<Result> {
    await waitFor(() => this.states(id).includes(state), `command ${id} to reach ${state} (has ${this.states(id).join(',')})`, timeoutMs);
    return this.results.find((r) => r.id === id && r.state === state) as Result;
  }
}

let n = 0;
function request(deviceId: string, action: 'engine_stop' | 'engine_resume', over: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, id: `t-${process.pid}-${++n}`, deviceId, action, expiresAt: new Date(Date.now() + 60_000).toISOString(), issuedBy: 'test:ops', ...over };
}

function simulate(gw: RunningGateway, family: ProtocolFamily, over: { speedKmh?: number; count?: number; idOffset?: number } = {}): Simulation {
  const sim = startSimulation({
    host: '127.0.0.1',
    port: gw.port,
    protocol: family,
    devices: 1,
    count: over.count ?? 400,
    intervalMs: 100,
    udp: false,
    alarmEvery: 0,
    heartbeatEvery: 0,
    speedKmh: over.speedKmh ?? 0,
    idOffset: over.idOffset ?? Math.floor(Math.random() * 1e6),
  });
  cleanups.push(async () => {
    sim.stop();
    await sim.done;
  });
  return sim;
}

describe('engine-cut commands end to end', () => {
  let broker: TestBroker;
  let gw: RunningGateway;
  let op: Operator;
  before(async () => {
    broker = await startBroker();
    cleanups.push(() => broker.stop());
    gw = await startGateway({ uplink: { url: broker.url, batchMaxDelayMs: 5 }, commands: { ackTimeoutSec: 3, confirmTimeoutSec: 4 } });
    cleanups.push(() => gw.stop());
    const root = gw.app.uplink?.topics.root as string;
    op = await Operator.connect(broker.url, root);
    cleanups.push(() => op.client.endAsync());
    await waitFor(() => gw.app.uplink?.state().connected === true, 'gateway uplink connected');
  });

  for (const family of ['h02', 'gt06'] as const) {
    it(`${family}: stop then resume go accepted, sent, acked, confirmed, and the relay shows in later records`, async () => {
      const sim = simulate(gw, family);
      const device = sim.devices[0]?.id as string;
      await waitFor(() => gw.app.registry.get(device)?.lastFix !== undefined, 'device reporting');
      const stop = request(device, 'engine_stop');
      await op.send(stop);
      const acked = await op.waitState(stop['id'] as string, 'acked');
      assert.match(acked.deviceReply ?? '', family === 'h02' ? /S20,DONE/ : /Success/);
      await op.waitState(stop['id'] as string, 'confirmed');
      assert.deepEqual(op.states(stop['id'] as string), ['accepted', 'sent', 'acked', 'confirmed']);
      assert.equal(gw.app.registry.get(device)?.relay, 'cut');
      const resume = request(device, 'engine_resume');
      await op.send(resume);
      await op.waitState(resume['id'] as string, 'confirmed');
      assert.equal(gw.app.registry.get(device)?.relay, 'normal');
      const audit = gw.app.store.listAudit(stop['id'] as string).map((a) => a.state);
      assert.deepEqual(audit, ['accepted', 'sent', 'acked', 'confirmed'], 'audit trail');
    });
  }

  it('tk103: sent, then confirmed from the I/O characters of the next report (no reply exists)', async () => {
    const sim = simulate(gw, 'tk103');
    const device = sim.devices[0]?.id as string;
    await waitFor(() => gw.app.registry.get(device)?.lastFix !== undefined, 'device reporting');
    const stop = request(device, 'engine_stop');
    await op.send(stop);
    await op.waitState(stop['id'] as string, 'confirmed');
    assert.deepEqual(op.states(stop['id'] as string), ['accepted', 'sent', 'confirmed']);
  });

  it('gps103: sent, and honestly failed as not_confirmed (the protocol reports no relay state)', async () => {
    const sim = simulate(gw, 'gps103');
    const device = sim.devices[0]?.id as string;
    await waitFor(() => gw.app.registry.get(device)?.lastFix !== undefined, 'device reporting');
    const stop = request(device, 'engine_stop');
    await op.send(stop);
    await op.waitState(stop['id'] as string, 'sent');
    const failed = await op.waitState(stop['id'] as string, 'failed', 15_000);
    assert.equal(failed.reason, 'not_confirmed');
    assert.equal(sim.devices[0]?.result().commands, 1, 'the device did execute it');
  });

  it('waits while the vehicle moves above the speed guard, sends when it slows', async () => {
    const sim = simulate(gw, 'h02', { speedKmh: 60 });
    const device = sim.devices[0]?.id as string;
    await waitFor(() => (gw.app.registry.get(device)?.lastFix?.speedKmh ?? 0) > 50, 'moving vehicle');
    const stop = request(device, 'engine_stop', { guards: { maxSpeedKmh: 10 } });
    await op.send(stop);
    const waiting = await op.waitState(stop['id'] as string, 'waiting');
    assert.equal(waiting.reason, 'speed_above_limit');
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!op.states(stop['id'] as string).includes('sent'), 'not sent while moving');
    sim.devices[0]?.setSpeed(3);
    await op.waitState(stop['id'] as string, 'confirmed');
  });

  it('waits for an offline device, delivers on reconnect, expires otherwise', async () => {
    const offset = 777_000 + Math.floor(Math.random() * 1000);
    const first = simulate(gw, 'gt06', { idOffset: offset, count: 5 });
    const device = first.devices[0]?.id as string;
    await first.done;
    await waitFor(() => gw.app.registry.get(device)?.online === false, 'device offline');
    const stop = request(device, 'engine_stop');
    await op.send(stop);
    const waiting = await op.waitState(stop['id'] as string, 'waiting');
    assert.equal(waiting.reason, 'device_offline');
    const short = request(device, 'engine_resume', { expiresAt: new Date(Date.now() + 1500).toISOString() });
    await op.send(short);
    await op.waitState(stop['id'] as string, 'superseded');
    await op.waitState(short['id'] as string, 'expired');
    const again = request(device, 'engine_stop');
    await op.send(again);
    await op.waitState(again['id'] as string, 'waiting');
    simulate(gw, 'gt06', { idOffset: offset });
    await op.waitState(again['id'] as string, 'confirmed');
  });

  it('rejects bad requests with their reasons on up/cmd/res', async () => {
    const sim = simulate(gw, 'h02');
    const device = sim.devices[0]?.id as string;
    await waitFor(() => gw.app.registry.get(device) !== undefined, 'device known');
    await op.send({ v: 1, id: 'bad-schema-1', deviceId: device, action: 'launch' });
    await op.waitState('bad-schema-1', 'rejected');
    assert.match(op.results.find((r) => r.id === 'bad-schema-1')?.reason ?? '', /^invalid/);
    const expired = request(device, 'engine_stop', { expiresAt: new Date(Date.now() - 1000).toISOString() });
    await op.send(expired);
    assert.match((await op.waitState(expired['id'] as string, 'rejected')).reason ?? '', /^expired/);
    const unknown = request('000000000000001', 'engine_stop');
    await op.send(unknown);
    assert.match((await op.waitState(unknown['id'] as string, 'rejected')).reason ?? '', /^unknown_device/);
    const dup = request(device, 'engine_resume');
    await op.send(dup);
    await op.waitState(dup['id'] as string, 'accepted');
    await op.send(dup);
    await waitFor(() => op.results.some((r) => r.id === dup['id'] && r.state === 'rejected' && /^duplicate/.test(r.reason ?? '')), 'duplicate rejected');
    await op.send(JSON.stringify({ ...request(device, 'engine_stop', { id: 'oversized-1' }), reason: 'x'.repeat(5000) }));
    await waitFor(() => op.results.some((r) => r.state === 'rejected' && /exceeds 4096/.test(r.reason ?? '')), 'oversized payload rejected');
    assert.equal(gw.app.store.getCommand('bad-schema-1')?.state, 'rejected', 'kept for the audit trail');
  });

  it('answers on the MQTT 5 response topic with the correlation data', async () => {
    const sim = simulate(gw, 'h02');
    const device = sim.devices[0]?.id as string;
    await waitFor(() => gw.app.registry.get(device) !== undefined, 'device known');
    const replies: Array<{ state: string; corr?: string }> = [];
    op.client.on('message', (topic, payload, packet) => {
      if (topic === 'ops/replies/1') replies.push({ state: (JSON.parse(payload.toString()) as Result).state, corr: packet.properties?.correlationData?.toString() });
    });
    await op.client.subscribeAsync('ops/replies/1', { qos: 1 });
    await op.send(request(device, 'engine_resume'), { responseTopic: 'ops/replies/1', correlationData: Buffer.from('corr-42') });
    await waitFor(() => replies.some((r) => r.state === 'accepted'), 'response on the response topic');
    assert.equal(replies[0]?.corr, 'corr-42');
  });
});

describe('signed commands and restarts', () => {
  it('requires a valid signature when a key is configured; a restart recovers a pending command without resending it', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.stop());
    const t = tempDir('tkgw-cmdkey-');
    cleanups.push(t.cleanup);
    const keyFile = join(t.dir, 'command.key');
    writeFileSync(keyFile, 'depot-secret-key\n', { mode: 0o600 });
    const key = Buffer.from('depot-secret-key');
    const dataDir = join(t.dir, 'data');
    const over = { gatewayId: `gw-signed-${process.pid}`, uplink: { url: broker.url, batchMaxDelayMs: 5 }, commands: { keyFile, ackTimeoutSec: 30, confirmTimeoutSec: 60 } };
    let gw = await startGateway(over, dataDir);
    const op = await Operator.connect(broker.url, gw.app.uplink?.topics.root as string);
    cleanups.push(() => op.client.endAsync());
    await waitFor(() => gw.app.uplink?.state().connected === true, 'uplink');
    const offset = 555_000 + Math.floor(Math.random() * 1000);
    const sim = simulate(gw, 'tk103', { count: 30, idOffset: offset });
    const device = sim.devices[0]?.id as string;
    await waitFor(() => gw.app.registry.get(device)?.lastFix !== undefined, 'device reporting');
    sim.stop();
    await sim.done;
    await waitFor(() => gw.app.registry.get(device)?.online === false, 'device offline');

    const unsigned = request(device, 'engine_stop');
    await op.send(unsigned);
    assert.match((await op.waitState(unsigned['id'] as string, 'rejected')).reason ?? '', /^unauthorized/);
    const forged = request(device, 'engine_stop');
    forged['sig'] = signRequest(forged, Buffer.from('wrong key'));
    await op.send(forged);
    assert.match((await op.waitState(forged['id'] as string, 'rejected')).reason ?? '', /^bad_signature/);
    const good = request(device, 'engine_stop');
    good['sig'] = signRequest(good, key);
    await op.send(good);
    await op.waitState(good['id'] as string, 'waiting');

    await gw.stop();
    gw = await startGateway(over, dataDir);
    cleanups.push(() => gw.stop());
    assert.equal(gw.app.store.getCommand(good['id'] as string)?.state, 'waiting', 'recovered after restart');
    simulate(gw, 'tk103', { idOffset: offset });
    await waitFor(() => gw.app.store.getCommand(good['id'] as string)?.state === 'confirmed', 'delivered after restart', 20_000);
    const sends = gw.app.store.listAudit(good['id'] as string).filter((a) => a.state === 'sent');
    assert.equal(sends.length, 1, 'sent exactly once across the restart');
  });
});
