/**
 * The only error a framer or codec may throw for bad input. Anything else escaping a codec is a
 * bug (the fuzz tests enforce this).
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    /** byte offset in the frame where decoding failed, when known */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

export function isDecodeError(err: unknown): err is DecodeError {
  return err instanceof DecodeError;
}

/**
 * Runs a codec for a session. A DecodeError is the expected failure; anything else escaping a
 * codec is a bug, still reported as this frame's error so one frame can never crash a connection.
 */
export function tryDecode<T>(family: string, decode: () => T): { ok: true; value: T } | { ok: false; error: DecodeError } {
  try {
    return { ok: true, value: decode() };
  } catch (err) {
    return { ok: false, error: isDecodeError(err) ? err : new DecodeError(`${family}: ${String(err)}`) };
  }
}
