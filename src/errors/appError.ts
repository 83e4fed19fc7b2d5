/**
 * The one error base of the application: each domain error extends it where it is defined and says
 * which HTTP status and machine-readable code it means, so the HTTP layer renders errors without
 * knowing the modules they come from. The JSON shape is `{ "error": { "code", "message", "details"? } }`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
