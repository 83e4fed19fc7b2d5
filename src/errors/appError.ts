import { ERROR_CODES, type ErrorCode } from './codes';

/**
 * The one error base of the application: each domain error extends it where it is defined and names
 * its code from the catalogue (codes.ts), which fixes the HTTP status, so the HTTP layer renders
 * errors without knowing the modules they come from. The JSON shape is `{ "error": { "code", "message", "details"? } }`.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
    this.status = ERROR_CODES[code].status;
  }
}
