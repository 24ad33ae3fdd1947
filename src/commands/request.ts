/**
 * The command request contract (CONTRACT section 4): schema, canonical JSON and the HMAC check.
 * Pure: the clock and the key are passed in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ISO_DATETIME_OFFSET, z, zod4 } from '../config/zod.js';

export const RELAY_ACTIONS = ['engine_stop', 'engine_resume'] as const;
export type CommandAction = (typeof RELAY_ACTIONS)[number];

export type RejectReason =
  | 'invalid'
  | 'unauthorized'
  | 'bad_signature'
  | 'expired'
  | 'unknown_device'
  | 'duplicate'
  | 'clock_untrusted';

const guardsSchema = z
  .object({
    maxSpeedKmh: zod4(z.number().min(0).max(300)).optional(),
    requireFix: z.boolean().optional(),
    maxFixAgeSec: zod4(z.number().int().min(1).max(86_400)).optional(),
  })
  .strict();

// Printable, bounded strings: these end up in logs, the audit table and other people's dashboards.
const safeText = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

export const commandRequestSchema = z
  .object({
    v: z.literal(1),
    id: zod4(safeText(64).min(1).regex(/^[A-Za-z0-9._:-]+$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')),
    deviceId: zod4(safeText(32).min(1).regex(/^[A-Za-z0-9]+$/, 'must be alphanumeric')),
    action: zod4(z.enum(RELAY_ACTIONS)),
    expiresAt: z.string().regex(ISO_DATETIME_OFFSET, 'Invalid ISO datetime'),
    guards: guardsSchema.optional(),
    issuedBy: zod4(safeText(128)).optional(),
    reason: zod4(safeText(512)).optional(),
    sig: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (HMAC-SHA256)').optional(),
  })
  .strict();

export type CommandRequest = z.infer<typeof commandRequestSchema>;

export interface Guards {
  maxSpeedKmh: number;
  requireFix: boolean;
  maxFixAgeSec: number;
}

/** JSON with object keys sorted at every level: what the operator's tool signs. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** HMAC-SHA256 over the canonical JSON of the request without `sig`, hex. */
export function signRequest(request: Record<string, unknown>, key: Buffer): string {
  const { sig: _sig, ...unsigned } = request;
  return createHmac('sha256', key).update(canonicalJson(unsigned)).digest('hex');
}

export function verifySignature(request: Record<string, unknown>, key: Buffer): boolean {
  const given = request['sig'];
  if (typeof given !== 'string' || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
  const expected = Buffer.from(signRequest(request, key), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

export type ParseResult =
  | { ok: true; request: CommandRequest; raw: Record<string, unknown> }
  | { ok: false; reason: RejectReason; detail: string; id?: string; deviceId?: string; action?: string };

export interface ParseOptions {
  maxPayloadBytes: number;
  /** when set, every request must carry a valid `sig` */
  key?: Buffer;
}

/** Validates bytes from `down/cmd/req` (or `tkgw command`) into a request, or a rejection reason. */
export function parseCommandRequest(payload: Buffer, options: ParseOptions): ParseResult {
  if (payload.length > options.maxPayloadBytes) {
    return { ok: false, reason: 'invalid', detail: `payload of ${payload.length} bytes exceeds ${options.maxPayloadBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid', detail: 'payload is not JSON' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, reason: 'invalid', detail: 'payload is not a JSON object' };
  }
  const raw = json as Record<string, unknown>;
  const ids = {
    id: typeof raw['id'] === 'string' ? raw['id'].slice(0, 64) : undefined,
    deviceId: typeof raw['deviceId'] === 'string' ? raw['deviceId'].slice(0, 32) : undefined,
    action: typeof raw['action'] === 'string' ? raw['action'].slice(0, 32) : undefined,
  };
  const parsed = commandRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { ok: false, reason: 'invalid', detail, ...ids };
  }
  if (options.key) {
    if (raw['sig'] === undefined) return { ok: false, reason: 'unauthorized', detail: 'a signature is required', ...ids };
    if (!verifySignature(raw, options.key)) return { ok: false, reason: 'bad_signature', detail: 'signature does not match', ...ids };
  }
  return { ok: true, request: parsed.data, raw };
}
