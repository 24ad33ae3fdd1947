import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/ops/logger.js';

describe('logger', () => {
  it('never writes secrets', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({ password: 'hunter2', uplink: { password: 'p2', token: 't0k3n' }, sig: 'abcd', cmd: { sig: 'ef01', key: 'k' } }, 'connecting');
    log.flush?.();
    await new Promise((r) => setImmediate(r));
    for (const secret of ['hunter2', 'p2"', 't0k3n', 'abcd', 'ef01', '"k"']) assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    assert.match(out, /\[redacted\]/);
  });
});
