import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/schema.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir('tkgw-config-');
after(t.cleanup);
const file = (name: string, text: string) => {
  const p = join(t.dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('has working defaults: TCP+UDP 0.0.0.0:8888, ./data, loopback HTTP 8081, no uplink', () => {
    const c = defaultConfig();
    assert.deepEqual(c.listeners, [{ host: '0.0.0.0', port: 8888, tcp: true, udp: true }]);
    assert.equal(c.store.dataDir, './data');
    assert.equal(c.store.synchronous, 'full');
    assert.equal(c.http.host, '127.0.0.1');
    assert.equal(c.http.port, 8081);
    assert.equal(c.tenant, 'default');
    assert.equal(c.uplink.url, undefined);
    assert.match(c.gatewayId, /^[A-Za-z0-9_-]+$/);
  });

  it('applies file < env < flags', () => {
    const p = file('prec.yaml', 'gatewayId: from-file\nstore:\n  dataDir: /tmp/file\nlisteners:\n  - port: 7000\n');
    const r = loadConfig({ file: p, env: { TKGW_GATEWAY_ID: 'from-env', TKGW_PORT: '7100' }, flags: { gatewayId: 'from-flag' } });
    assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
    assert.equal(r.config.gatewayId, 'from-flag');
    assert.equal(r.config.listeners[0]?.port, 7100);
    assert.equal(r.config.store.dataDir, '/tmp/file');
  });

  it('reads JSON too', () => {
    const p = file('c.json', JSON.stringify({ tenant: 'acme', uplink: { url: 'mqtts://broker.example:8883', compress: true } }));
    const r = loadConfig({ file: p, env: {} });
    assert.ok(r.ok);
    assert.equal(r.config.tenant, 'acme');
    assert.equal(r.config.uplink.compress, true);
  });

  it('reports every error at once, with paths and hints', () => {
    const p = file(
      'bad.yaml',
      ['listeners:', '  - port: 70000', 'uplink:', '  url: http://broker', 'store:', '  quotaMb: -5', 'limits:', '  idleTimeoutSecs: 10', ''].join('\n'),
    );
    const r = loadConfig({ file: p, env: {} });
    assert.equal(r.ok, false);
    const errors = r.ok ? [] : r.errors;
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('listeners[0].port:')));
    assert.ok(errors.some((e) => e.startsWith('uplink.url:') && e.includes('mqtt://')));
    assert.ok(errors.some((e) => e.startsWith('store.quotaMb:')));
    assert.ok(errors.some((e) => e.includes('limits.idleTimeoutSecs: unknown key (did you mean "idleTimeoutSec"?)')));
  });

  it('refuses a non-loopback HTTP bind without a token', () => {
    const p = file('http.yaml', 'http:\n  host: 0.0.0.0\n');
    const r = loadConfig({ file: p, env: {} });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.errors.join(), /requires http.token/);
    const ok = loadConfig({ file: file('http2.yaml', 'http:\n  host: 0.0.0.0\n  token: 0123456789abcdef0123\n'), env: {} });
    assert.ok(ok.ok);
  });

  it('treats missing uplink files as an uplink problem, not a fatal error', () => {
    const p = file('tls.yaml', 'uplink:\n  url: mqtts://b:8883\n  caFile: /nonexistent/ca.pem\n');
    const r = loadConfig({ file: p, env: {} });
    assert.ok(r.ok);
    assert.equal(r.uplinkProblems.length, 1);
    assert.match(r.uplinkProblems[0] ?? '', /uplink.caFile: cannot read \/nonexistent\/ca.pem/);
  });

  it('requires a readable command key file and warns when it is group-readable', () => {
    const missing = loadConfig({ file: file('k.yaml', 'commands:\n  keyFile: /nonexistent/key\n'), env: {} });
    assert.equal(missing.ok, false);
    const key = file('cmd.key', 'secret\n');
    chmodSync(key, 0o644);
    const r = loadConfig({ file: file('k2.yaml', `commands:\n  keyFile: ${key}\n`), env: {} });
    assert.ok(r.ok);
    assert.ok(r.warnings.some((w) => w.includes('chmod 600')));
  });

  it('explains unreadable and unparseable files in one line', () => {
    const r1 = loadConfig({ file: join(t.dir, 'nope.yaml'), env: {} });
    assert.deepEqual(r1.ok ? [] : r1.errors, [`cannot read config file ${join(t.dir, 'nope.yaml')}: ENOENT`]);
    const r2 = loadConfig({ file: file('broken.yaml', 'a: [1, 2\n'), env: {} });
    assert.equal(r2.ok ? 0 : r2.errors.length, 1);
    assert.match(r2.ok ? '' : (r2.errors[0] ?? ''), /not valid YAML/);
  });

  it('rejects a bad port from the environment', () => {
    const r = loadConfig({ env: { TKGW_PORT: 'eighty' } });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.errors.join(), /listeners\[0\].port: "eighty" is not a port/);
  });
});
