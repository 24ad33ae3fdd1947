/**
 * Loads the configuration: file (YAML or JSON) < environment < command-line flags, validated by
 * the one schema, with every error reported at once, before anything binds a port.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { configSchema, type GatewayConfig } from './schema.js';

export interface ConfigFlags {
  host?: string | undefined;
  port?: string | number | undefined;
  dataDir?: string | undefined;
  gatewayId?: string | undefined;
  mqttUrl?: string | undefined;
  tenant?: string | undefined;
  httpPort?: string | number | undefined;
  commandKeyFile?: string | undefined;
}

export type LoadResult =
  | { ok: true; config: GatewayConfig; warnings: string[]; uplinkProblems: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

export interface LoadOptions {
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
}

type Json = Record<string, unknown>;

export function loadConfig({ file, env, flags = {} }: LoadOptions): LoadResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  let raw: Json = {};
  if (file !== undefined) {
    const read = readConfigFile(file);
    if ('error' in read) return { ok: false, errors: [read.error], warnings };
    raw = read.value;
  }

  const overrides: Array<[string, string | number | undefined, (v: string) => unknown]> = [
    ['listeners[0].host', flags.host ?? env['TKGW_HOST'], String],
    ['listeners[0].port', flags.port ?? env['TKGW_PORT'], toPort],
    ['store.dataDir', flags.dataDir ?? env['TKGW_DATA_DIR'], String],
    ['gatewayId', flags.gatewayId ?? env['TKGW_GATEWAY_ID'], String],
    ['uplink.url', flags.mqttUrl ?? env['TKGW_MQTT_URL'], String],
    ['tenant', flags.tenant ?? env['TKGW_TENANT'], String],
    ['http.port', flags.httpPort ?? env['TKGW_HTTP_PORT'], toPort],
    ['commands.keyFile', flags.commandKeyFile ?? env['TKGW_COMMAND_KEY_FILE'], String],
    ['log.level', env['TKGW_LOG_LEVEL'], String],
  ];
  for (const [path, value, convert] of overrides) {
    if (value === undefined || value === '') continue;
    const converted = convert(String(value));
    if (converted === undefined) errors.push(`${path}: "${value}" is not a port number (0..65535)`);
    else raw = setPath(raw, path, converted);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = formatPath(issue.path);
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const where = path ? `${path}.${key}` : key;
          const hint = suggest(key, knownKeys(issue.path));
          errors.push(`${where}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
        }
      } else {
        errors.push(`${path || '(root)'}: ${issue.message}`);
      }
    }
  }
  if (!parsed.success || errors.length > 0) return { ok: false, errors, warnings };

  const config = parsed.data;
  // Files the gateway itself needs are errors; uplink files only stop the uplink (ingest must go on).
  const uplinkProblems: string[] = [];
  for (const key of ['caFile', 'certFile', 'keyFile', 'passwordFile'] as const) {
    const p = config.uplink[key];
    if (p !== undefined) {
      const problem = unreadable(p);
      if (problem) uplinkProblems.push(`uplink.${key}: ${problem}`);
    }
  }
  for (const [key, p] of [
    ['commands.keyFile', config.commands.keyFile],
    ['http.tokenFile', config.http.tokenFile],
  ] as const) {
    if (p !== undefined) {
      const problem = unreadable(p);
      if (problem) errors.push(`${key}: ${problem}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  for (const [key, p] of [
    ['uplink.passwordFile', config.uplink.passwordFile],
    ['commands.keyFile', config.commands.keyFile],
    ['http.tokenFile', config.http.tokenFile],
  ] as const) {
    if (p !== undefined && isGroupOrWorldReadable(p)) warnings.push(`${key}: ${p} is readable by group/others; chmod 600 it`);
  }
  if (config.http.tokenFile !== undefined) config.http.token = readSecretFile(config.http.tokenFile);
  return { ok: true, config, warnings: [...warnings, ...uplinkProblems.map((p) => `${p} (uplink disabled until fixed; records are buffered)`)], uplinkProblems };
}

/** The YAML parser loads only when a YAML file is read (config loading is synchronous). */
function parseYaml(text: string): unknown {
  const require = createRequire(import.meta.url);
  return (require('yaml') as typeof import('yaml')).parse(text);
}

function readConfigFile(file: string): { value: Json } | { error: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  try {
    const value: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (value === null || value === undefined) return { value: {} };
    if (typeof value !== 'object' || Array.isArray(value)) return { error: `config file ${file}: the top level must be a mapping of keys` };
    return { value: value as Json };
  } catch (err) {
    return { error: `config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Reads a secret (key, password, token) from a file, without the trailing newline. */
export function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function isGroupOrWorldReadable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile() ? undefined : `${path} is not a file`;
  } catch (err) {
    return `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

function toPort(v: string): number | undefined {
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 65535 ? n : undefined;
}

/** Sets `a.b[0].c` in a plain object copy, creating what is missing. */
function setPath(obj: Json, path: string, value: unknown): Json {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  const root: Json = structuredClone(obj);
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string;
    const nextIsIndex = /^\d+$/.test(parts[i + 1] as string);
    const container = cur as Record<string, unknown>;
    if (container[key] === undefined || typeof container[key] !== 'object') container[key] = nextIsIndex ? [{}] : {};
    cur = container[key] as Record<string, unknown>;
  }
  (cur as Record<string, unknown>)[parts[parts.length - 1] as string] = value;
  return root;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

/** The keys allowed at a path of the schema, for "did you mean" hints. */
function knownKeys(path: ReadonlyArray<PropertyKey>): string[] {
  let node: unknown = configSchema;
  for (const p of path) {
    node = unwrap(node);
    if (typeof p === 'number') node = (node as { element?: unknown }).element;
    else node = (node as { shape?: Record<string, unknown> }).shape?.[String(p)];
    if (node === undefined) return [];
  }
  const shape = (unwrap(node) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** Through defaults, optionals, refinements and pipes (zod 3 keeps what they wrap in `_def`). */
function unwrap(node: unknown): unknown {
  let n = node as { _def?: { innerType?: unknown; out?: unknown; schema?: unknown } } | undefined;
  for (let i = 0; i < 10 && n?._def; i++) {
    const inner = n._def.innerType ?? n._def.out ?? n._def.schema;
    if (!inner) break;
    n = inner as typeof n;
  }
  return n;
}

function suggest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
