import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/gateway.js';

describe('tkgw demo', () => {
  it('runs end to end through an uplink outage and reports every record in the cloud, none lost', async () => {
    const r = await runCli(['demo', '--quick'], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /uplink outage/);
    assert.match(r.stdout, /link restored/);
    const sent = Number(/devices sent (\d+) reports/.exec(r.stdout)?.[1]);
    const cloud = Number(/records that reached the cloud: (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(sent > 0);
    assert.equal(cloud, sent, 'every record reached the embedded cloud');
    assert.match(r.stdout, /^lost: 0$/m);
  });
});
