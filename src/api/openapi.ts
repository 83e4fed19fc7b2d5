import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors/codes';
import { API_ROUTES } from './contract';
import { errorCodesOf, resolveSchema, type Access, type ResponseContract, type RouteSpec } from './contract/route';
import type { Limits } from './schemas/requests';
import { errorResponseSchema } from './schemas/responses';

const requestJsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const responseJsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' });
const propertiesOf = (s: z.ZodType) => (requestJsonSchema(s) as { properties?: Record<string, unknown> }).properties ?? {};

function requestBody(body: NonNullable<RouteSpec['body']>, limits: Limits) {
  const base = requestJsonSchema(resolveSchema(body.schema, limits)) as { properties?: Record<string, unknown> };
  const content: Record<string, unknown> = { 'application/json': { schema: base } };
  if (body.upload) {
    const file = { type: 'string', format: 'binary' };
    content['multipart/form-data'] = {
      schema: { ...base, properties: { ...base.properties, [body.upload.field]: body.upload.many ? { type: 'array', items: file } : file } },
    };
  }
  return { required: body.required, content };
}

function response(status: number, r: ResponseContract) {
  if ('binary' in r) return { description: r.binary, content: { [r.binary]: { schema: { type: 'string', format: 'binary' } } } };
  if ('text' in r) return { description: r.text, content: { [r.text]: { schema: { type: 'string' } } } };
  return { description: status < 300 ? 'OK' : 'Not ready', content: { 'application/json': { schema: responseJsonSchema(r) } } };
}

/** Who may call, in words; also as the x-access extension for tools. */
function accessNote(a: Access): string {
  if (a.caller === 'public') return 'Public: no key.';
  if (a.caller === 'operator') return `Operator keys only (not pinned to an owner), scope "${a.scope}".`;
  const signed = a.signedUrl ? ' Also by a signed URL (exp, sig) without a key.' : '';
  return `Scope "${a.scope}". A key of an owner acts for that owner only; an operator key for the owner it names${a.owner.required ? ' (required)' : ', or every owner'}.${signed}`;
}

/** Error responses by status, each listing the codes of the catalogue this route can answer with. */
function errorResponses(r: RouteSpec) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(r)) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const schema = responseJsonSchema(errorResponseSchema);
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      String(status),
      {
        description: codes.map((c) => `\`${c}\`: ${ERROR_CODES[c].description}`).join(' '),
        content: { 'application/json': { schema } },
        'x-error-codes': codes,
      },
    ]),
  );
}

function operation(name: string, r: RouteSpec, limits: Limits) {
  const pathParams = r.params ? propertiesOf(r.params) : {};
  const parameters = [
    ...[...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: pathParams[m[1]!] ?? { type: 'string' } })),
    ...Object.entries(r.query ? propertiesOf(resolveSchema(r.query, limits)) : {}).map(([n, schema]) => ({ name: n, in: 'query', required: false, schema })),
  ];
  return {
    operationId: name,
    summary: r.summary,
    description: accessNote(r.access),
    'x-access': r.access,
    ...(r.access.caller === 'public' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: requestBody(r.body, limits) } : {}),
    responses: {
      ...errorResponses(r),
      ...Object.fromEntries(Object.entries(r.responses).map(([status, c]) => [status, response(Number(status), c)])),
    },
  };
}

/** The OpenAPI document, made from the route declarations (src/api/contract) and the error catalogue. */
export function openApiDocument(limits: Limits, version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, r] of Object.entries(API_ROUTES) as [string, RouteSpec][]) paths[r.path] = { ...paths[r.path], [r.method]: operation(name, r, limits) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'imagesearch',
      version,
      description:
        'Semantic image search for Chinese-language photo libraries: text-to-image, image-to-image, image-to-text retrieval, captions and ingest. ' +
        'Each operation says who may call it (x-access) and which error codes it answers with (x-error-codes).',
    },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token (or the X-API-Key header)' } } },
    security: [{ apiKey: [] }],
    paths,
  };
}
