import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'pretty' | 'json';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '31' };
/** Fields every line has, or that the line's head shows already. */
const SHOWN = new Set(['level', 'time', 'msg', 'service', 'component', 'pid', 'hostname', 'req', 'res', 'responseTime', 'reqId']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Object && 'message' in v && typeof v.message === 'string') return JSON.stringify(v.message);
  return JSON.stringify(v);
}

/**
 * One readable line per event, for a person at a terminal: time, level, component, message, then the
 * fields as key=value; a request as "GET /v1/search/text 200 12 ms". Errors keep their stack below.
 */
export function prettyLine(json: string, colour: boolean): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = Number(e.level);
  const time = typeof e.time === 'string' ? e.time.slice(11, 19) : '';
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const head = colour ? `\x1b[${COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
  const req = e.req as { method?: string; url?: string } | undefined;
  const res = e.res as { statusCode?: number } | undefined;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  const request = req && res ? `${req.method ?? ''} ${req.url ?? ''} ${res.statusCode ?? ''} ${text(e.responseTime)} ms` : '';
  const fields = Object.entries(e)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const err = e.err as { stack?: string } | undefined;
  const stack = level >= 50 && err?.stack ? `\n    ${err.stack.split('\n').join('\n    ')}` : '';
  return `${[time, head, e.component ? `[${text(e.component)}]` : '', text(e.msg), request, ...fields].filter(Boolean).join(' ')}${stack}\n`;
}

function prettyStream(out: NodeJS.WriteStream): DestinationStream {
  const colour = Boolean(out.isTTY) && !process.env.NO_COLOR;
  return { write: (line: string) => void out.write(prettyLine(line, colour)) };
}

/** The format a person or a log collector wants: pretty on a terminal, JSON otherwise (LOG_FORMAT overrides). */
export const defaultLogFormat = (): LogFormat => (process.stdout.isTTY ? 'pretty' : 'json');

/** Structured logs on stdout, as JSON lines or one readable line each; request ids are attached by the API's request logger. */
export function createLogger(level: string, format: LogFormat = defaultLogFormat(), base: Record<string, unknown> = {}): Logger {
  const options = { level, base: { service: 'imagesearch', ...base }, timestamp: pino.stdTimeFunctions.isoTime };
  return format === 'pretty' ? pino(options, prettyStream(process.stdout)) : pino(options);
}
