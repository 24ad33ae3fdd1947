import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeCapture } from '../../src/cli/decode.js';
import { GATEWAY_VERSION } from '../../src/version.js';
import { runCli } from '../helpers/gateway.js';

const lines = (objs: Iterable<Record<string, unknown>>) => [...objs];

describe('tkgw decode (CONTRACT 1.1)', () => {
  it('decodes TCP reads per connection with conn, msgType and the ACK', () => {
    const input = ['78780d01086471700328358100093f040d0a', '78 78 0a 13 c4 06 04 00 02 01 29 8f 5b 0d 0a', '---', '2a48512c3133353739303234363831313232302c563023'].join('\n');
    const out = lines(decodeCapture(input));
    assert.equal(out.length, 3);
    assert.deepEqual(out.map((o) => [o['conn'], o['protocol'], o['msgType'], o['type']]), [
      [0, 'gt06', '0x01', 'login'],
      [0, 'gt06', '0x13', 'heartbeat'],
      [1, 'h02', 'V0', 'login'],
    ]);
    assert.equal(out[0]?.['ack'], '78780501000955940d0a');
    assert.equal(out[0]?.['deviceId'], '864717003283581');
    assert.equal(out[1]?.['deviceId'], '864717003283581', 'the session carries the GT06 identity');
    assert.equal(out[1]?.['relay'], 'cut');
    assert.equal(out[2]?.['ack'], '2a48512c3133353739303234363831313232302c563023');
    assert.ok(out.every((o) => !('seq' in o)));
  });

  it('treats each line as a datagram with --udp', () => {
    const h = Buffer.from('*HQ,865205035331981,HTBT,88#').toString('hex');
    const out = lines(decodeCapture(`${h}\n${h}`, { udp: true }));
    assert.deepEqual(out.map((o) => o['conn']), [0, 1]);
  });

  it('reports bad input as error lines and continues', () => {
    const input = ['zz not hex', '474554202f20485454502f312e300d0a0d0a', '---', '2a48512c3133353739303234363831313232302c56312c3132333435362c412c313278342e352c4e2c30303433312e383231312c452c302e302c302c3133313131362c464646464642464623', '---', '2a48512c3133353739303234363831313232302c563023'].join('\n');
    const out = lines(decodeCapture(input));
    assert.equal(out[0]?.['type'], 'error');
    assert.match(String(out[0]?.['error']), /not hex/);
    assert.equal(out[1]?.['type'], 'error');
    assert.match(String(out[1]?.['error']), /unrecognised protocol: HTTP/);
    assert.equal(out[2]?.['type'], 'error');
    assert.equal(out[2]?.['protocol'], 'h02');
    assert.match(String(out[2]?.['error']), /bad coordinate "12x4.5"/);
    assert.equal(out[out.length - 1]?.['type'], 'login', 'decoding continued');
  });

  it('runs as a CLI on stdin', async () => {
    const r = await runCli(['decode'], { input: '78780d01086471700328358100093f040d0a\n' });
    assert.equal(r.code, 0, r.stderr);
    const obj = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    assert.equal(obj['imei'] ?? obj['deviceId'], '864717003283581');
    const bad = await runCli(['decode', '--protocol', 'xyz']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--protocol must be/);
  });

  it('keeps the version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(GATEWAY_VERSION, pkg.version);
  });
});

describe('tkgw tail formatting', () => {
  it('prints records, command results and status readably', async () => {
    const { describe: fmt } = await import('../../src/cli/tail.js');
    const lines = fmt('up/evt', JSON.stringify({ v: 1, hist: false, recs: [{ seq: 7, deviceId: '8640', protocol: 'gt06', type: 'alarm', lat: 1.5, lon: 2.5, speedKmh: 3, alarms: ['sos'], relay: 'cut' }] }));
    assert.deepEqual(lines, ['live #7 8640 gt06 alarm 1.5,2.5 3 km/h relay=cut ALARM sos']);
    assert.deepEqual(fmt('up/cmd/res', JSON.stringify({ id: 'c1', deviceId: 'd', action: 'engine_stop', state: 'rejected', reason: 'expired' })), ['command c1 d engine_stop -> rejected (expired)']);
    assert.deepEqual(fmt('up/status', '{"state":"online","session":3}'), ['gateway online session 3']);
  });
});
