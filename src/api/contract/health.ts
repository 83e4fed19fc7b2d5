import { z } from 'zod';
import { healthSchema, readinessSchema } from '../schemas/responses';
import { routes } from './route';

/** prom-client's exposition format, as its registry names it. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const openApiShape = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ version: z.string() }), paths: z.record(z.string(), z.unknown()) });
const open = { caller: 'public' } as const;

export const healthRoutes = routes({
  health: { at: 'GET /healthz', summary: 'Liveness', access: open, responses: { 200: healthSchema } },
  ready: {
    at: 'GET /readyz',
    summary: 'Readiness of database, vector store and model; says when the model is only the test pack, and the real one being fetched',
    access: open,
    responses: { 200: readinessSchema, 503: readinessSchema },
  },
  metrics: {
    at: 'GET /metrics',
    summary: 'Prometheus metrics: request latency by route, encoder runs, ingest items, OCR, webhooks (counts only, no owner or image data)',
    access: open,
    responses: { 200: { text: PROMETHEUS_TEXT } },
  },
  openapi: { at: 'GET /v1/openapi.json', summary: 'This document', access: open, responses: { 200: openApiShape } },
});
