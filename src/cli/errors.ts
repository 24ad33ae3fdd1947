/** A mistake by the user (bad flag, unreadable file): exit 1 with a one-line reason. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL = 2;
