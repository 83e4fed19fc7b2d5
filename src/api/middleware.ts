import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Metrics } from '../observability/metrics';
import { principalOf } from './auth';
import { AppError } from '../errors/appError';
import { errorBody } from '../errors/codes';

/** Latency histogram by route pattern (not raw path: ids would explode the label set). */
export function recordLatency(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const matched = req.route as { path: unknown } | undefined;
      const route = matched ? `${req.baseUrl}${String(matched.path)}` : 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}

/**
 * Answers 503 when a request runs past its deadline. The handler may still finish, but its
 * late response is dropped (Express refuses headers already sent).
 */
export function requestTimeout(ms: number): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      req.log?.warn({ ms }, 'request timed out');
      res.status(503).json(errorBody('timeout', `the request took longer than ${ms} ms`));
    }, ms);
    res.on('close', () => clearTimeout(timer));
    next();
  };
}

/** Per-key token bucket: `perMinute` requests a minute, with bursts up to the same number. */
export function rateLimit(perMinute: number, metrics: Metrics): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (_req, res, next) => {
    const key = principalOf(res).keyId;
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * refillPerMs);
    b.at = now;
    buckets.set(key, b);
    res.setHeader('ratelimit-limit', String(perMinute));
    if (b.tokens < 1) {
      metrics.rateLimited.inc();
      const retry = Math.ceil((1 - b.tokens) / refillPerMs / 1000);
      res.setHeader('retry-after', String(retry));
      return next(new AppError('rate_limited', `too many requests for this API key; retry in ${retry} s`));
    }
    b.tokens -= 1;
    res.setHeader('ratelimit-remaining', String(Math.floor(b.tokens)));
    next();
  };
}

/** A caller's X-Request-Id when it looks like one, else a new one; echoed back for tracing. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}
