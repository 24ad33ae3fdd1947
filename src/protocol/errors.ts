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
    // A bad frame is expected input, not a bug: the message and offset say where it failed, and
    // capturing a call stack for each one cost more than decoding a good frame (garbage floods,
    // the fuzz). So no stack frames are captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    Error.stackTraceLimit = limit;
  }
}

export function isDecodeError(err: unknown): err is DecodeError {
  return err instanceof DecodeError;
}

/** What a session reports for an exception out of its codec: a DecodeError as is, anything else (a bug) wrapped. */
export function asDecodeError(family: string, err: unknown): DecodeError {
  return isDecodeError(err) ? err : new DecodeError(`${family}: ${String(err)}`);
}
