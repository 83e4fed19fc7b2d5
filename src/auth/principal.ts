import { AppError } from '../errors/appError';

/** worker: a pull encoder (npm run encoder with SERVICE_URL) that leases ingest batches. */
export const SCOPES = ['search', 'ingest', 'admin', 'worker'] as const;
export type Scope = (typeof SCOPES)[number];
/** What a key of an owner (a tenant) may hold: acting on its own library. */
export const TENANT_SCOPES: readonly Scope[] = ['search', 'ingest'];
/** Operator powers: every owner's folders, watches, reconcile, purges, keys (admin) and every owner's ingest batches (worker). */
export const OPERATOR_SCOPES: readonly Scope[] = ['admin', 'worker'];

/** Who is calling: a tenant key acts for one owner; an operator (owner null) for any. */
export interface Principal {
  keyId: string;
  owner: string | null;
  scopes: ReadonlySet<Scope>;
}

export class Forbidden extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/**
 * The owner a request may act for. A tenant key is pinned to its owner (asking for another is
 * refused, not silently rewritten); an operator may name any owner or none (= all owners).
 */
export function effectiveOwner(p: Principal, requested: string | undefined): string | undefined {
  if (p.owner === null) return requested;
  if (requested !== undefined && requested !== p.owner) throw new Forbidden(`this API key may only act for owner "${p.owner}"`);
  return p.owner;
}
