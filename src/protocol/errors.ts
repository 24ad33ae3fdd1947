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
