/**
 * Runs the captured sample frames (test/fixtures/vectors.jsonl, copied from
 * ../shared/protocol/vectors.jsonl) against a protocol module, following the harness rules of
 * ../shared/protocol/VECTORS.md:
 *  - `hex` goes to the framer as one TCP read, and for `kind: framing` also byte by byte;
 *  - only keys present in `expect` are compared; lat/lon within 1e-5, speeds within 0.05;
 *  - `core` vectors must decode exactly; `extended` ones must be framed and survived (a decode
 *    mismatch there is reported as a diagnostic, not a failure), with a correct ACK if one is given;
 *  - `ack_hex` (or `ack_hex_alt`) must match byte for byte.
 */
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDecodeError } from '../../src/protocol/errors.js';
import type {
  DecodedMessage,
  FramerOutput,
  ProtocolFamily,
  ProtocolModule,
  ProtocolSession,
  RelayAction,
} from '../../src/protocol/types.js';

export interface Vector {
  id: string;
  protocol: ProtocolFamily;
  scope: 'core' | 'extended';
  kind?: 'framing';
  direction?: 'device_to_server' | 'server_to_device';
  hex: string;
  text?: string;
  expect: Record<string, unknown>;
}

const FIXTURE = new URL('../fixtures/vectors.jsonl', import.meta.url);

export function loadVectors(protocol?: ProtocolFamily): Vector[] {
  return readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Vector)
    .filter((v) => protocol === undefined || v.protocol === protocol);
}

export const MAX_FRAME_BYTES = 4096;

export function frameAll(module: ProtocolModule, input: Buffer, byteByByte = false): FramerOutput[] {
  const framer = module.createFramer({ maxFrameBytes: MAX_FRAME_BYTES });
  const out: FramerOutput[] = [];
  if (byteByByte) {
    for (let i = 0; i < input.length; i++) out.push(...framer.push(input.subarray(i, i + 1)));
  } else {
    out.push(...framer.push(input));
  }
  out.push(...framer.end());
  return out;
}

export function framesOf(outputs: FramerOutput[]): Buffer[] {
  return outputs.flatMap((o) => (o.kind === 'frame' ? [o.frame] : []));
}

const RECEIVED_AT = new Date('2026-03-01T06:00:00Z');

interface Decoded {
  messages: DecodedMessage[];
  acks: Buffer[];
  errors: string[];
}

/** Decodes frames in one session; any exception other than DecodeError propagates (a bug). */
export function decodeFrames(session: ProtocolSession, frames: Buffer[]): Decoded {
  const result: Decoded = { messages: [], acks: [], errors: [] };
  for (const frame of frames) {
    const r = session.handleFrame(frame, RECEIVED_AT);
    if (r.error) {
      assert.ok(isDecodeError(r.error), 'session returned a non-DecodeError');
      result.errors.push(r.error.message);
    }
    for (const m of r.messages) {
      result.messages.push(m.message);
      if (m.ack) result.acks.push(m.ack);
    }
  }
  return result;
}

const near = (a: unknown, b: number, tol: number) => typeof a === 'number' && Math.abs(a - b) <= tol;

/** Compares a decoded message with a vector's expectations; returns the mismatches. */
export function mismatches(expect: Record<string, unknown>, msg: DecodedMessage | undefined, acks: Buffer[]): string[] {
  const out: string[] = [];
  const ackHex = Buffer.concat(acks).toString('hex');
  if ('ack_hex' in expect) {
    const alt = expect['ack_hex_alt'];
    if (ackHex !== expect['ack_hex'] && ackHex !== alt) out.push(`ack ${ackHex || '(none)'} != ${String(expect['ack_hex'])}`);
  }
  if (!msg) {
    const keys = Object.keys(expect).filter((k) => !IGNORED_KEYS.has(k) && k !== 'ack_hex' && k !== 'ack_hex_alt');
    if (keys.length) out.push(`no message decoded (expected ${keys.join(', ')})`);
    return out;
  }
  for (const [key, want] of Object.entries(expect)) {
    const fail = (got: unknown) => out.push(`${key}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    switch (key) {
      case 'type':
      case 'msgType':
      case 'fixTime':
      case 'valid':
      case 'course':
      case 'satellites':
      case 'ignition':
      case 'statusHex':
      case 'batteryLevel':
      case 'voltageLevel':
      case 'gsmLevel':
      case 'serial':
      case 'crcValid':
      case 'lengthFieldMismatch':
      case 'emitsRecord':
      case 'format': {
        const got = (msg as unknown as Record<string, unknown>)[key];
        if (key === 'course' && typeof want === 'number' ? !near(got, want, 0.05) : got !== want) fail(got);
        break;
      }
      case 'imei':
      case 'deviceId':
        if (msg.deviceId !== want) fail(msg.deviceId);
        break;
      case 'lat':
      case 'lon':
        if (!near(msg[key], want as number, 1e-5)) fail(msg[key]);
        break;
      case 'speedKmh':
        if (!near(msg.speedKmh, want as number, 0.05)) fail(msg.speedKmh);
        break;
      case 'speedKnots':
        if (msg.speedKmh === undefined || !near(msg.speedKmh / 1.852, want as number, 0.05)) fail(msg.speedKmh);
        break;
      case 'relayCut':
        if ((msg.relay === 'cut') !== want || msg.relay === undefined) fail(msg.relay);
        break;
      case 'alarm': {
        const wanted = String(want).split(',').map((s) => s.trim()).filter(Boolean).sort();
        const got = [...msg.alarms].sort();
        if (JSON.stringify(wanted) !== JSON.stringify(got)) fail(got);
        break;
      }
      case 'text': {
        const got = msg.commandReply?.text ?? msg.reply;
        if (got !== want) fail(got);
        break;
      }
      case 'command':
        if (msg.commandReply?.command !== want) fail(msg.commandReply?.command);
        break;
      case 'commandEcho': {
        const cr = msg.commandReply;
        const got = cr ? [cr.command, ...(cr.echoFields ?? []), cr.commandTime].filter((x) => x !== undefined).join(',') : undefined;
        if (got !== want) fail(got);
        break;
      }
      case 'commandResult': {
        const got = msg.commandReply?.text ?? msg.reply;
        if (got !== want && String(got).toLowerCase() !== String(want).toLowerCase()) fail(got);
        break;
      }
      case 'serverFlag':
        if (msg.commandReply?.serverFlag !== want) fail(msg.commandReply?.serverFlag);
        break;
      case 'keyword':
        if (msg.attributes?.['keyword'] !== want) fail(msg.attributes?.['keyword']);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Keys that are context, framing-only, or Traccar-internal, never compared against a message. */
const IGNORED_KEYS = new Set([
  'note',
  'why',
  'observedServerReply',
  'observedReplyDiffers',
  'serverDecoded',
  'traccarAttributes',
  'modelOverride',
  'ack_note',
  'noSerialOrCrc',
  'layoutUncertain',
  'frames',
  'firstFrameHex',
  'perFrame',
  'leadingGarbageHex',
  'trailingBytesDropped',
]);

export interface VectorSuiteOptions {
  /** feeds the session whatever login makes `deviceId` known, for encoder vectors */
  login?: (session: ProtocolSession, deviceId: string) => void;
  /** server clock used by encoders (the vectors fix H02's HHMMSS to 01:02:03) */
  commandTime?: Date;
}

const RELAY_COMMANDS: Record<string, RelayAction> = { engine_stop: 'engine_stop', engine_resume: 'engine_resume' };

/** Registers one test per vector of the module's family; returns the counts for the closing note. */
export function registerVectorSuite(module: ProtocolModule, options: VectorSuiteOptions = {}): void {
  const vectors = loadVectors(module.family);
  describe(`${module.family} vectors (${vectors.length})`, () => {
    for (const v of vectors) {
      it(`${v.id} [${v.scope}${v.kind ? ',' + v.kind : ''}${v.direction === 'server_to_device' ? ',encoder' : ''}]`, (t) => {
        const input = Buffer.from(v.hex, 'hex');
        if (v.direction === 'server_to_device') {
          const action = RELAY_COMMANDS[String(v.expect['command'])];
          if (!action) {
            t.skip(`encoder for "${String(v.expect['command'])}" not built: the gateway only sends relay commands`);
            return;
          }
          const id = deviceIdFromCommand(module.family, input);
          const session = module.createSession();
          if (id !== undefined) options.login?.(session, id);
          const encoded = session.encodeRelay(action, {
            now: options.commandTime ?? new Date('2026-03-01T01:02:03Z'),
            commandRef: 0,
          });
          assert.equal(encoded.bytes.toString('hex'), v.hex);
          return;
        }

        const whole = frameAll(module, input);
        const frames = framesOf(whole);
        const expectedFrames = v.expect['frames'] as string[] | number | undefined;
        if (typeof expectedFrames === 'number') {
          assert.equal(frames.length, expectedFrames, 'frame count (one read)');
        } else if (expectedFrames) {
          // `frames` lists the frames Traccar's frame-decoder test asserted, one per decode call,
          // in order; some inputs carry a further complete frame it never asked for (tk103 L14,
          // L28, L36). So: the expected frames must come first; none expected means none at all.
          const got = frames.map((f) => f.toString('hex'));
          assert.deepEqual(expectedFrames.length === 0 ? got : got.slice(0, expectedFrames.length), expectedFrames, 'frames (one read)');
        } else if (typeof v.expect['firstFrameHex'] === 'string') {
          assert.equal(frames[0]?.toString('hex'), v.expect['firstFrameHex']);
        } else {
          assert.equal(frames.length, 1, `expected exactly one frame, got ${frames.length}`);
        }
        if (v.kind === 'framing') {
          const split = framesOf(frameAll(module, input, true));
          assert.deepEqual(
            split.map((f) => f.toString('hex')),
            frames.map((f) => f.toString('hex')),
            'byte-by-byte framing differs from one read',
          );
        }

        const session = module.createSession();
        const decoded = decodeFrames(session, frames);
        if (v.kind === 'framing') {
          const again = decodeFrames(module.createSession(), framesOf(frameAll(module, input, true)));
          assert.deepEqual(again.messages, decoded.messages, 'byte-by-byte decode differs');
        }
        const first = decoded.messages[0];
        const expectForMessage = v.kind === 'framing' ? pick(v.expect, ['crcValid', 'lengthFieldMismatch']) : v.expect;
        const problems = mismatches(expectForMessage, first, decoded.acks);
        if (v.scope === 'core') {
          assert.deepEqual(problems, [], `${v.id}: ${problems.join('; ')}${decoded.errors.length ? ' / errors: ' + decoded.errors.join('; ') : ''}`);
        } else {
          const ackProblems = problems.filter((p) => p.startsWith('ack '));
          assert.deepEqual(ackProblems, [], 'extended vector got a wrong ACK');
          if (problems.length) t.diagnostic(`extended decode differs: ${problems.join('; ')}`);
        }
      });
    }
  });
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => keys.includes(k)));
}

/** The device id a server command addresses, so the encoder test can log that device in first. */
function deviceIdFromCommand(family: ProtocolFamily, bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  switch (family) {
    case 'h02':
      return /^\*\w\w,([^,]*),/.exec(text)?.[1];
    case 'tk103':
      return /^\((\w{11,15}?)A[A-Z]\d\d/.exec(text)?.[1];
    case 'gps103':
      return /imei:(\d+)/.exec(text)?.[1];
    case 'gt06':
      return '123456789012345';
  }
}
