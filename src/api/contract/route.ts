import type { z } from 'zod';
import type { ErrorCode } from '../../errors/codes';
import type { Limits } from '../schemas/requests';

/** Where a route finds the owner a caller asks to act for. */
export type OwnerFrom = 'query' | 'body' | 'filters' | 'key';

/**
 * Who may call a route, stated where the route is declared; the router enforces it, never mount order.
 * - public: anyone, no key (health, metrics, this document).
 * - owner: any key with the scope. A tenant key (pinned to an owner) acts for its owner only: naming
 *   another is a 403, and another owner's resources are answered as missing (404). An operator key
 *   acts for the owner it names (`owner.from`), or for every owner; `owner.required` makes naming one
 *   mandatory for operators. `signedUrl`: a signed, expiring URL stands in for the key.
 * - operator: operator keys only (not pinned to an owner) holding the scope; tenant keys get 403
 *   whatever scopes they carry.
 */
export type Access =
  | { caller: 'public' }
  | { caller: 'owner'; scope: 'search' | 'ingest'; owner: { from: OwnerFrom; required?: boolean }; signedUrl?: boolean }
  | { caller: 'operator'; scope: 'admin' | 'worker' };

/** A schema, or one made from the configured limits (query length, page size). */
export type Schema = z.ZodType | ((limits: Limits) => z.ZodType);
export type Resolved<S> = S extends (limits: Limits) => infer T ? T : S;

export function resolveSchema<S extends Schema>(schema: S, limits: Limits): Resolved<S> {
  return (typeof schema === 'function' ? schema(limits) : schema) as Resolved<S>;
}

/** A response: a JSON body described by a schema, or a binary or text one described by its media type. */
export type ResponseContract = z.ZodType | { binary: string } | { text: string };

export interface UploadSpec {
  field: string;
  many: boolean;
  /** Written to disk as it arrives (ingest: photos and videos), instead of held in memory (a query's one image). */
  spool?: boolean;
  /** Videos may be uploaded: the file limit is MAX_VIDEO_BYTES (the photo limit is checked once a file is known not to be one). */
  videos?: boolean;
}

/** One route, declared once: the router, the OpenAPI document, the typed client and the owner-boundary test read it. */
export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI path, e.g. /v1/images/{id}. */
  path: `/${string}`;
  summary: string;
  access: Access;
  /** Path parameters, as one object schema. */
  params?: z.ZodType;
  /** Query parameters, as one object schema. */
  query?: Schema;
  /** A JSON body (and a multipart form with files, when `upload` is set). */
  body?: { schema: Schema; required: boolean; upload?: UploadSpec };
  responses: Record<number, ResponseContract>;
  /** The codes this route answers with beyond those its access, parameters and body imply (errorCodesOf). */
  errors?: readonly ErrorCode[];
}

type Method = RouteSpec['method'];

/** A route as it is written: method and path together, `GET /v1/images/{id}`, as HTTP says them. */
export type RouteDeclaration = Omit<RouteSpec, 'method' | 'path'> & { at: `${Uppercase<Method>} /${string}` };

type Placed<A> = A extends `${infer M} ${infer P}` ? { method: Lowercase<M> & Method; path: P & `/${string}` } : never;

/** The declarations with their method and path apart, keeping every literal type for the handlers and the client. */
export type Declared<D extends Record<string, RouteDeclaration>> = { [K in keyof D]: Omit<D[K], 'at'> & Placed<D[K]['at']> };

export function routes<const D extends Record<string, RouteDeclaration>>(declarations: D): Declared<D> {
  return Object.fromEntries(
    Object.entries(declarations).map(([name, { at, ...rest }]) => {
      const [method, path] = at.split(' ');
      return [name, { method: method!.toLowerCase(), path, ...rest }];
    }),
  ) as unknown as Declared<D>;
}

/** Express's spelling of an OpenAPI path: /v1/images/{id} -> /v1/images/:id. */
export const expressPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

/** Every code a route can answer with: those of its access, parameters and body, and its own. */
export function errorCodesOf(r: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(['internal_error', 'timeout']);
  // A key is checked in PostgreSQL, and so is whatever a parameter names.
  if (r.access.caller !== 'public' || r.params) codes.add('database_unavailable');
  if (r.access.caller !== 'public') for (const c of ['unauthorized', 'forbidden', 'rate_limited'] as const) codes.add(c);
  if (r.access.caller === 'owner' && (r.access.owner.from !== 'key' || r.access.owner.required)) codes.add('validation_error');
  if (r.params || r.query) codes.add('validation_error');
  if (r.params) codes.add('not_found');
  if (r.body) for (const c of ['validation_error', 'invalid_json', 'body_too_large', 'unsupported_media_type'] as const) codes.add(c);
  if (r.body?.upload) {
    for (const c of [
      'upload_limit_file_size',
      'upload_limit_file_count',
      'upload_limit_field_value',
      'upload_limit_part_count',
      'upload_limit_field_key',
      'upload_limit_field_count',
      'upload_limit_unexpected_file',
      'upload_missing_field_name',
    ] as const)
      codes.add(c);
  }
  for (const c of r.errors ?? []) codes.add(c);
  return [...codes];
}
