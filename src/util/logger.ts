import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; request ids are attached by the API's request logger. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'imagesearch', ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
