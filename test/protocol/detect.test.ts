import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectProtocol } from '../../src/protocol/detect.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');

describe('detectProtocol', () => {
  const families: Array<[string, Buffer, string]> = [
    ['GT06 short', hex('78 78 0d 01 08 64 71 70 03 28 35 81 00 09 3f 04 0d 0a'), 'gt06'],
    ['GT06 extended', hex('79 79 00 26 21 00'), 'gt06'],
    ['H02 text', ascii('*HQ,135790246811220,V0#'), 'h02'],
    ['H02 text, other maker', ascii('*TH,2020916012,V4,S17'), 'h02'],
    ['H02 text, lower case', ascii('*hq,356327081001239,VP1'), 'h02'],
    ['H02 binary', hex('24 41 06 01 16 60 12 45 43'), 'h02'],
    ['TK103', ascii('(027045009305BP05'), 'tk103'],
    ['GPS103 login', ascii('##,imei:359586015829802,A;'), 'gps103'],
    ['GPS103 data', ascii('imei:865456055519122,tracker,'), 'gps103'],
    ['GPS103 heartbeat', ascii('359586015829802;'), 'gps103'],
    ['after blank lines', ascii('\r\n\r\n*HQ,1,V0#'), 'h02'],
  ];
  for (const [name, bytes, family] of families) {
    it(`recognises ${name}`, () => {
      const d = detectProtocol(bytes);
      assert.equal(d.kind, 'family');
      assert.equal(d.kind === 'family' && d.family, family);
    });
  }

  it('waits for more bytes on a partial start marker, decides when final', () => {
    assert.equal(detectProtocol(hex('78')).kind, 'need_more');
    assert.equal(detectProtocol(ascii('*H')).kind, 'need_more');
    assert.equal(detectProtocol(ascii('##,im')).kind, 'need_more');
    assert.equal(detectProtocol(ascii('35958601')).kind, 'need_more');
    assert.equal(detectProtocol(hex('78'), true).kind, 'unknown');
    assert.equal(detectProtocol(ascii('\r\n')).kind, 'need_more');
    assert.equal(detectProtocol(ascii('\r\n'), true).kind, 'unknown');
  });

  it('rejects what is not a tracker, with a reason', () => {
    const http = detectProtocol(ascii('GET / HTTP/1.0\r\n\r\n'));
    assert.deepEqual(http.kind === 'unsupported' && http.name, 'http');
    const jt = detectProtocol(hex('7e 02 00 00'));
    assert.deepEqual(jt.kind === 'unsupported' && jt.name, 'jt808');
    const tls = detectProtocol(hex('16 03 01 00 a5'));
    assert.deepEqual(tls.kind === 'unsupported' && tls.name, 'tls');
    const junk = detectProtocol(hex('00 01 02 03 ff fe'), true);
    assert.equal(junk.kind, 'unknown');
    assert.match(junk.kind === 'unknown' ? junk.reason : '', /no tracker protocol/);
  });

  it('resynchronises on a strong marker after garbage (a read starting mid-frame)', () => {
    const d = detectProtocol(ascii('01047,V1,tail#*HQ,4106011660,V1,124552,A#'));
    assert.equal(d.kind, 'family');
    if (d.kind === 'family') {
      assert.equal(d.family, 'h02');
      assert.equal(d.skip, 14);
    }
  });

  it('survives random input without throwing', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rnd() * 40);
      const buf = Buffer.alloc(len);
      for (let k = 0; k < len; k++) buf[k] = Math.floor(rnd() * 256);
      const d = detectProtocol(buf, rnd() < 0.5);
      assert.ok(['family', 'unsupported', 'need_more', 'unknown'].includes(d.kind));
    }
  });
});
