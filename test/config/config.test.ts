import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

  it('words every kind of error as it always has, with the hint for a nested typo', () => {
    const p = file(
      'wording.yaml',
      [
        'listeners:',
        '  - port: 1.5',
        '    hots: 0.0.0.0',
        'limits:',
        '  maxConnections: 1.0e+20',
        'store:',
        '  quotaMb: .inf',
        '  synchronous: fast',
        '  groupCommitMs: 99',
        'uplink:',
        '  keepaliveSec: "60"',
        '  protocolVersion: 3',
        'http:',
        '  host: ""',
        // 20 UTF-16 units but 10 characters: too short
        `  token: "${'\u{1F600}'.repeat(10)}"`,
        'log:',
        '  level: loud',
        '',
      ].join('\n'),
    );
    const r = loadConfig({ file: p, env: {} });
    assert.deepEqual(r.ok ? [] : r.errors, [
      'listeners[0].port: Invalid input: expected int, received number',
      'listeners[0].hots: unknown key (did you mean "host"?)',
      'limits.maxConnections: Too big: expected int to be <=9007199254740991',
      'store.quotaMb: Invalid input: expected number, received Infinity',
      'store.synchronous: Invalid option: expected one of "full"|"normal"',
      'store.groupCommitMs: Too big: expected number to be <=50',
      'uplink.protocolVersion: Invalid input',
      'uplink.keepaliveSec: Invalid input: expected number, received string',
      'http.host: Too small: expected string to have >=1 characters',
      'http.token: must be at least 16 characters',
      'log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    ]);
  });

  it('hints at the closest key at the top level and leaves far-off keys without a hint', () => {
    const r = loadConfig({ file: file('top.yaml', 'tenat: acme\nsomethingElse: 1\n'), env: {} });
    assert.deepEqual(r.ok ? [] : r.errors, ['tenat: unknown key (did you mean "tenant"?)', 'somethingElse: unknown key']);
  });

  it('still checks the rest of the file when it also has an unknown key', () => {
    const r = loadConfig({ file: file('both.yaml', 'http:\n  host: 0.0.0.0\n  prot: 1\n'), env: {} });
    assert.deepEqual(r.ok ? [] : r.errors, [
      'http.prot: unknown key (did you mean "port"?)',
      'http.host: binding the local HTTP endpoint to 0.0.0.0 (not loopback) requires http.token or http.tokenFile',
    ]);
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

  it('never loads zod 4 itself: only the much smaller zod/v3 inside its package', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const offenders = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from\s+['"]zod(\/v4[^'"]*|\/mini)?['"]|import\(\s*['"]zod['"]/.test(readFileSync(join(src, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('rejects a bad port from the environment', () => {
    const r = loadConfig({ env: { TKGW_PORT: 'eighty' } });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.errors.join(), /listeners\[0\].port: "eighty" is not a port/);
  });
});
