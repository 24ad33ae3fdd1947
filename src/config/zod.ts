/**
 * The zod the gateway validates with: the legacy API `zod/v3` that ships inside the zod 4 package.
 * zod 4's own entry loads ~90 modules (every locale among them) whose source, compiled code and
 * schema objects stay resident for the gateway's lifetime; `zod/v3` is 10. An idle `tkgw start`
 * went from 66.3 to 61.6 MB RSS (5 alternating runs each); a bare `node` importing each, 10 MB.
 *
 * Config and command errors must still read exactly as they did with zod 4 (users, docs and cloud
 * tools match on them), so this module makes zod 3 report what zod 4 reported:
 * - zod 4's English messages, through the global error map below (only this gateway uses zod 3
 *   in the process, and every schema gets `z` from here, so the map is set before any parse);
 * - `zod4(...)` around every number, every string or array with a length check, and every enum,
 *   for what zod 3 checks differently (see the notes there).
 */
import { z } from 'zod/v3';

export { z };

/** zod 4's name for a value's type in "expected X, received Y". */
function receivedType(data: unknown): string {
  if (typeof data === 'number') return Number.isNaN(data) ? 'NaN' : Number.isFinite(data) ? 'number' : String(data);
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'array';
  if (typeof data === 'object') {
    const ctor = Object.getPrototypeOf(data) !== Object.prototype && 'constructor' in data ? (data.constructor as { name?: string } | undefined) : undefined;
    if (ctor) return String(ctor.name);
  }
  return typeof data;
}

function primitive(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}

function sized(kind: 'small' | 'big', origin: string, bound: unknown, inclusive: boolean, exact = false): string {
  const adj = exact ? 'exactly ' : kind === 'small' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  const unit = origin === 'string' ? 'characters' : origin === 'array' ? 'items' : undefined;
  const head = kind === 'small' ? 'Too small' : 'Too big';
  return unit ? `${head}: expected ${origin} to have ${adj}${String(bound)} ${unit}` : `${head}: expected ${origin} to be ${adj}${String(bound)}`;
}

z.setErrorMap((issue, ctx) => {
  switch (issue.code) {
    case 'invalid_type':
      return { message: `Invalid input: expected ${issue.expected}, received ${receivedType(ctx.data)}` };
    case 'invalid_literal':
      return { message: `Invalid input: expected ${primitive(issue.expected)}` };
    case 'invalid_enum_value':
      return { message: enumMessage(issue.options) };
    case 'unrecognized_keys':
      return { message: `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map(primitive).join(', ')}` };
    case 'too_small':
      return { message: sized('small', issue.type, issue.minimum, issue.inclusive, issue.exact) };
    case 'too_big':
      return { message: sized('big', issue.type, issue.maximum, issue.inclusive, issue.exact) };
    default:
      return { message: 'Invalid input' };
  }
});

function enumMessage(options: ReadonlyArray<unknown>): string {
  return `Invalid option: expected one of ${options.map(primitive).join('|')}`;
}

/** zod 4 measures strings in code points (an emoji is 1, not 2). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

type Length = { kind: 'min' | 'max'; value: number; message?: string | undefined };

/**
 * zod 4 still runs length checks after a type error, on anything with a `length` (`host: []` also
 * gets "Too small: expected array to have >=1 items"), so the same issues are reported here.
 */
function typeError(ctx: z.RefinementCtx, data: unknown, expected: 'string' | 'array', lengths: readonly Length[]): void {
  ctx.addIssue({
    code: 'invalid_type',
    expected,
    received: 'unknown',
    message: `Invalid input: expected ${expected}, received ${receivedType(data)}`,
    fatal: true,
  });
  if (data === null || data === undefined) return;
  const length = (data as { length?: unknown }).length;
  if (length === undefined) return;
  const origin = Array.isArray(data) ? 'array' : typeof data === 'string' ? 'string' : 'unknown';
  for (const l of lengths) checkLength(ctx, typeof data === 'string' ? codePoints(data) : length, l, origin);
}

function checkLength(ctx: z.RefinementCtx, length: unknown, l: Length, origin: string): void {
  // Compared as zod 4 does: a `length` that is not a number fails both checks.
  const ok = l.kind === 'min' ? (length as number) >= l.value : (length as number) <= l.value;
  if (ok) return;
  const message = l.message ?? sized(l.kind === 'min' ? 'small' : 'big', origin, l.value, true);
  if (l.kind === 'min') ctx.addIssue({ code: 'too_small', type: 'string', minimum: l.value, inclusive: true, message });
  else ctx.addIssue({ code: 'too_big', type: 'string', maximum: l.value, inclusive: true, message });
}

function unsupported(kind: string): never {
  throw new Error(`zod4(): the ${kind} check is not supported (it would need zod 4's semantics written out here)`);
}

/**
 * Numbers: zod 4 rejects Infinity as not a number, stops at a non-integer for `.int()` (zod 3 goes
 * on to min/max and reports those too), and keeps `.int()` within the safe integer range.
 */
function number4(schema: z.ZodNumber): z.ZodType<number, z.ZodTypeDef, number> {
  const checks = schema._def.checks;
  for (const c of checks) if (c.kind !== 'int' && c.kind !== 'min' && c.kind !== 'max') unsupported(c.kind);
  return z.number().superRefine((v, ctx) => {
    if (!Number.isFinite(v)) {
      ctx.addIssue({ code: 'invalid_type', expected: 'number', received: 'number', message: `Invalid input: expected number, received ${String(v)}`, fatal: true });
      return;
    }
    for (const c of checks) {
      if (c.kind === 'int') {
        if (!Number.isInteger(v)) {
          ctx.addIssue({ code: 'invalid_type', expected: 'integer', received: 'float', message: c.message ?? 'Invalid input: expected int, received number', fatal: true });
          return;
        }
        if (!Number.isSafeInteger(v)) {
          const message = c.message ?? sized(v > 0 ? 'big' : 'small', 'int', v > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER, true);
          if (v > 0) ctx.addIssue({ code: 'too_big', type: 'number', maximum: Number.MAX_SAFE_INTEGER, inclusive: true, message });
          else ctx.addIssue({ code: 'too_small', type: 'number', minimum: Number.MIN_SAFE_INTEGER, inclusive: true, message });
        }
      } else if (c.kind === 'min') {
        if (c.inclusive ? v < c.value : v <= c.value) {
          ctx.addIssue({ code: 'too_small', type: 'number', minimum: c.value, inclusive: c.inclusive, message: c.message ?? sized('small', 'number', c.value, c.inclusive) });
        }
      } else if (c.kind === 'max') {
        if (c.inclusive ? v > c.value : v >= c.value) {
          ctx.addIssue({ code: 'too_big', type: 'number', maximum: c.value, inclusive: c.inclusive, message: c.message ?? sized('big', 'number', c.value, c.inclusive) });
        }
      }
    }
  });
}

/** Strings: lengths in code points, and the length checks after a type error (see typeError). */
function string4(schema: z.ZodString): z.ZodType<string, z.ZodTypeDef, string> {
  const checks = schema._def.checks;
  for (const c of checks) if (c.kind !== 'min' && c.kind !== 'max' && c.kind !== 'regex') unsupported(c.kind);
  const lengths = checks.filter((c): c is Length & typeof c => c.kind === 'min' || c.kind === 'max');
  const typed = z.any().superRefine((v: unknown, ctx) => {
    if (typeof v !== 'string') {
      typeError(ctx, v, 'string', lengths);
      return;
    }
    for (const c of checks) {
      if (c.kind === 'regex') {
        c.regex.lastIndex = 0;
        if (!c.regex.test(v)) ctx.addIssue({ code: 'invalid_string', validation: 'regex', message: c.message ?? `Invalid string: must match pattern ${String(c.regex)}` });
      } else if (c.kind === 'min' || c.kind === 'max') {
        checkLength(ctx, codePoints(v), c, 'string');
      }
    }
  });
  return typed as unknown as z.ZodType<string, z.ZodTypeDef, string>;
}

/**
 * Arrays: the length checks after a type error (see typeError). zod 3 checks the length before the
 * items and zod 4 after, which only orders issues differently when both fail: not for `.min(1)`.
 */
function array4<T extends z.ZodTypeAny>(schema: z.ZodArray<T>): z.ZodType<Array<T['_output']>, z.ZodTypeDef, Array<T['_input']>> {
  const { minLength, maxLength, exactLength } = schema._def;
  if (maxLength || exactLength || (minLength && minLength.value > 1)) unsupported('array length');
  const lengths: Length[] = minLength ? [{ kind: 'min', value: minLength.value, message: minLength.message }] : [];
  const guard = z.any().superRefine((v: unknown, ctx) => {
    if (!Array.isArray(v)) typeError(ctx, v, 'array', lengths);
  });
  return guard.pipe(schema) as unknown as z.ZodType<Array<T['_output']>, z.ZodTypeDef, Array<T['_input']>>;
}

/** zod 3 reports a non-string given to an enum as a type error; zod 4 as not one of the options. */
function enum4<T extends [string, ...string[]]>(schema: z.ZodEnum<T>): z.ZodEnum<T> {
  const message = enumMessage(schema.options);
  return z.enum(schema.options, { errorMap: () => ({ message }) });
}

/** The zod 3 schema, checked as zod 4 checks it (the module comment says why). */
export function zod4(schema: z.ZodNumber): z.ZodType<number, z.ZodTypeDef, number>;
export function zod4(schema: z.ZodString): z.ZodType<string, z.ZodTypeDef, string>;
export function zod4<T extends z.ZodTypeAny>(schema: z.ZodArray<T>): z.ZodType<Array<T['_output']>, z.ZodTypeDef, Array<T['_input']>>;
export function zod4<T extends [string, ...string[]]>(schema: z.ZodEnum<T>): z.ZodEnum<T>;
export function zod4(schema: z.ZodTypeAny): z.ZodTypeAny {
  if (schema instanceof z.ZodNumber) return number4(schema);
  if (schema instanceof z.ZodString) return string4(schema);
  if (schema instanceof z.ZodArray) return array4(schema);
  if (schema instanceof z.ZodEnum) return enum4(schema as z.ZodEnum<[string, ...string[]]>);
  return unsupported(schema.constructor.name);
}

/** zod 4's `z.iso.datetime({ offset: true })` pattern (zod 3's also takes no seconds, and +hhmm). */
export const ISO_DATETIME_OFFSET =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;
