import { AppError } from '../errors/appError';
import { lastLine } from '../errors/lastLine';

/** PostgreSQL could not be reached, or dropped the connection (a restart, a failover): nothing the caller did wrong. */
export class DatabaseUnavailable extends AppError {
  constructor(cause: unknown) {
    super('database_unavailable', 'the database did not answer; retry later');
    this.cause = cause;
  }
}

/** Prisma's codes for a server it cannot reach or that went away (P1001 unreachable, P1017 closed, P2024 pool timeout ...). */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
/** What the pg driver adapter calls the same (DriverAdapterError kinds). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATEs of a server going away: connection exceptions (08), shutdown or not yet accepting (57P01-57P03), too many clients. */
const SQLSTATE = /^(08...|57P0[123]|53300)$/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
/** pg's own errors for a socket that closed under a query carry no code at all. */
const CLOSED = /Connection terminated|Client has encountered a connection error|Can't reach database server|Server has closed the connection/i;

type Shape = { code?: unknown; kind?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: unknown } }; cause?: unknown };

/**
 * Whether an error from a repository means PostgreSQL was unavailable, judged from the shapes Prisma, its pg adapter and
 * pg give it (read, not imported: only src/db knows them). Walks causes a few levels down.
 */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (e instanceof DatabaseUnavailable) return true;
  if (typeof e !== 'object' || e === null || depth > 4) return false;
  const s = e as Shape;
  const code = typeof s.code === 'string' ? s.code : '';
  if (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SQLSTATE.test(code)) return true;
  if (typeof s.kind === 'string' && ADAPTER_KINDS.has(s.kind)) return true;
  if (typeof s.message === 'string' && (CLOSED.test(s.message) || /Code: `(08...|57P0[123])`/.test(s.message))) return true;
  return isDatabaseUnavailable(s.meta?.driverAdapterError?.cause, depth + 1) || isDatabaseUnavailable(s.cause, depth + 1);
}

/** One line for a job's recorded error. */
export function outageReason(e: unknown): string {
  return `database unavailable: ${lastLine(e).slice(0, 300)}`;
}

/** The error a caller should see: a DatabaseUnavailable for an outage, anything else as it was. */
export function asDatabaseUnavailable(e: unknown): unknown {
  return !(e instanceof DatabaseUnavailable) && isDatabaseUnavailable(e) ? new DatabaseUnavailable(e) : e;
}
