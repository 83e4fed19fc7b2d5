import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { effectiveOwner, type Principal } from '../auth/principal';
import { AppError } from '../errors/appError';
import type { Limits } from './schemas/requests';
import { API_ROUTES, type ApiRoutes } from './contract';
import { expressPath, resolveSchema, type Access, type OwnerFrom, type Resolved, type RouteSpec, type Schema } from './contract/route';
import type { KeyAuthenticator } from './auth';
import type { UrlSigner } from './signedUrls';
import { multipart, requireContentType, uploadedFiles, type UploadLimits } from './uploads';

/** Who is calling: a key's principal, or nobody (public routes, and files loaded by a signed URL). */
export interface Caller {
  principal: Principal | null;
  via: 'key' | 'signedUrl' | 'public';
}

type Parsed<S> = S extends Schema ? z.output<Resolved<S>> : undefined;

/** A request as a handler sees it: parsed and checked against its declaration, the owner already pinned. */
export interface RequestContext<R extends RouteSpec> {
  req: Request;
  res: Response;
  caller: Caller;
  /**
   * The owner the request acts for: a tenant key's own, or the one an operator named (undefined: every
   * owner). The parsed input's owner field holds the same value, so handlers cannot pick up the one asked for.
   */
  owner: string | undefined;
  /** For owners named elsewhere in a body (a text's owner): a tenant may name only its own. */
  ownerFor: (requested: string | undefined) => string | undefined;
  params: R['params'] extends z.ZodType ? z.output<R['params']> : undefined;
  query: Parsed<R['query']>;
  body: R['body'] extends { schema: infer S } ? Parsed<S> : undefined;
  files: Express.Multer.File[];
}

/** An answer with another status than the route's, or with headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Returned by handlers that wrote the response themselves (files, movies). */
export const SENT = Symbol('sent');

export type Handler<R extends RouteSpec> = (ctx: RequestContext<R>) => Promise<unknown>;
export type Handlers<T extends Record<string, RouteSpec>> = { [K in keyof T]: Handler<T[K]> };

export interface RouterDeps {
  auth: KeyAuthenticator;
  signer: UrlSigner;
  limits: Limits & UploadLimits & { maxVideoBytes: number };
  /** Per-key rate limit, after the key is known. */
  rateLimit: RequestHandler;
  /** Where ingest uploads are written as they arrive. */
  uploadSpool: string;
  /** Rewrites what a tenant's answer would tell about the server's disk (absolute paths). */
  forTenant: (body: unknown, owner: string) => unknown;
}

/** The route's success status when a handler returns a plain body: its one documented 2xx, else 200. */
function successStatus(r: RouteSpec): number {
  const ok = Object.keys(r.responses)
    .map(Number)
    .filter((s) => s >= 200 && s < 300);
  return ok.length === 1 ? ok[0]! : 200;
}

/** Checks the caller against the route's declaration and leaves the caller in res.locals. */
function gate(access: Access, deps: RouterDeps): RequestHandler {
  return async (req, res, next) => {
    try {
      if (access.caller === 'public') {
        res.locals.caller = { principal: null, via: 'public' } satisfies Caller;
        return next();
      }
      if (access.caller === 'owner' && access.signedUrl && req.query.sig !== undefined) {
        if (!deps.signer.verify(req.originalUrl.split('?')[0]!, req.query.exp, req.query.sig))
          throw new AppError('forbidden', 'the signed URL is invalid or has expired');
        res.locals.caller = { principal: null, via: 'signedUrl' } satisfies Caller;
        return next();
      }
      const principal = await deps.auth.principal(req);
      res.locals.principal = principal;
      res.locals.caller = { principal, via: 'key' } satisfies Caller;
      if (!principal.scopes.has(access.scope)) throw new AppError('forbidden', `this API key lacks the "${access.scope}" scope`);
      if (access.caller === 'operator' && principal.owner !== null)
        throw new AppError('forbidden', `this route is for operator keys; this key acts for owner "${principal.owner}"`);
      deps.rateLimit(req, res, next);
    } catch (e) {
      next(e);
    }
  };
}

/** The object that carries the requested owner in a route's input, by its declaration. */
function ownerHolder(from: OwnerFrom, query: unknown, body: unknown): { owner?: string | undefined } | null {
  const holder = from === 'query' ? query : from === 'body' ? body : from === 'filters' ? (body as { filters?: unknown } | undefined)?.filters : null;
  return holder && typeof holder === 'object' ? holder : null;
}

function bodyMiddleware(r: RouteSpec, deps: RouterDeps): RequestHandler[] {
  if (!r.body) return [];
  const { upload } = r.body;
  if (!upload) return [requireContentType('application/json')];
  const { limits } = deps;
  return [
    requireContentType('application/json', 'multipart/form-data'),
    multipart(
      upload.field,
      { ...limits, maxBytes: upload.videos ? Math.max(limits.maxBytes, limits.maxVideoBytes) : limits.maxBytes },
      upload.many ? limits.maxFiles : 1,
      upload.spool ? deps.uploadSpool : undefined,
    ),
  ];
}

function run<R extends RouteSpec>(r: R, handler: Handler<R>, deps: RouterDeps): RequestHandler {
  const status = successStatus(r);
  const query = r.query && resolveSchema(r.query, deps.limits);
  const body = r.body && resolveSchema(r.body.schema, deps.limits);
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const caller = res.locals.caller as Caller;
      const ctx = {
        req,
        res,
        caller,
        params: r.params ? r.params.parse(req.params) : undefined,
        query: query ? query.parse(req.query) : undefined,
        body: body ? body.parse(r.body!.required ? req.body : ((req.body as unknown) ?? {})) : undefined,
        files: uploadedFiles(req),
        owner: undefined as string | undefined,
        ownerFor: (requested: string | undefined) => (caller.principal ? effectiveOwner(caller.principal, requested) : requested),
      };
      if (r.access.caller === 'owner' && caller.principal) {
        const holder = ownerHolder(r.access.owner.from, ctx.query, ctx.body);
        ctx.owner = effectiveOwner(caller.principal, holder?.owner);
        if (holder) holder.owner = ctx.owner;
        if (r.access.owner.required && ctx.owner === undefined) throw new AppError('validation_error', 'owner is required with an operator key');
      }
      const answer = await handler(ctx as RequestContext<R>);
      if (answer === SENT || res.headersSent) return;
      const reply = answer instanceof Reply ? answer : new Reply(status, answer);
      const tenant = caller.principal?.owner ?? null;
      res
        .status(reply.status)
        .set(reply.headers)
        .json(tenant === null ? reply.body : deps.forTenant(reply.body, tenant));
    } catch (e) {
      next(e);
    }
  };
}

/** Serves every declared route with its handler; what a route declares (access, body, uploads) is applied here alone. */
export function mountRoutes(app: Express, handlers: Handlers<ApiRoutes>, deps: RouterDeps): void {
  for (const [name, r] of Object.entries(API_ROUTES) as [keyof ApiRoutes, RouteSpec][]) {
    app[r.method](expressPath(r.path), gate(r.access, deps), ...bodyMiddleware(r, deps), run(r, handlers[name] as Handler<RouteSpec>, deps));
  }
}
