import { z } from 'zod';
import { classifySchema, imageSearchSchema, ingestRequestSchema, retrieveTextSchema, textIngestSchema, textSearchSchema, type Limits } from './schemas';

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const errorResponse = {
  description: 'Error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } },
      },
    },
  },
};

const imageRecord = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    owner: { type: 'string' },
    sha256: { type: 'string' },
    source: { type: 'string' },
    sourceKind: { type: 'string', enum: ['folder', 'upload', 'url'] },
    mime: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    bytes: { type: 'integer' },
    albums: { type: 'array', items: { type: 'string' } },
    takenAt: { type: ['string', 'null'], format: 'date-time' },
    ingestedAt: { type: 'string', format: 'date-time' },
    modelPack: { type: ['string', 'null'] },
    state: { type: 'string', enum: ['pending', 'indexed', 'failed'] },
  },
};

const hit = {
  allOf: [
    imageRecord,
    {
      type: 'object',
      properties: {
        score: { type: 'number', description: 'cosine similarity' },
        thumbnailUrl: { type: 'string' },
        previewUrl: { type: 'string' },
        caption: { type: ['object', 'null'], properties: { text: { type: 'string' }, model: { type: 'string' }, score: { type: ['number', 'null'] } } },
        captionError: { type: 'string', description: 'why a requested caption is missing' },
      },
    },
  ],
};

const searchResponse = {
  description: 'Ranked images',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { model: { type: 'string' }, query: { type: 'string' }, hits: { type: 'array', items: hit }, nextCursor: { type: ['string', 'null'] }, tookMs: { type: 'number' } },
      },
    },
  },
};

const errors = { '400': errorResponse, '404': errorResponse, '413': errorResponse, '415': errorResponse, '422': errorResponse, '503': errorResponse };
const json = (s: z.ZodType) => ({ 'application/json': { schema: jsonSchema(s) } });
const withUpload = (s: z.ZodType, field: string, many = false) => {
  const base = jsonSchema(s) as { properties?: Record<string, unknown> };
  const file = { type: 'string', format: 'binary' };
  return {
    ...json(s),
    'multipart/form-data': { schema: { ...base, properties: { ...base.properties, [field]: many ? { type: 'array', items: file } : file } } },
  };
};
const keyed = [{ apiKey: [] }];

export function openApiDocument(limits: Limits, version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'imagesearch',
      version,
      description: 'Semantic image search for Chinese-language photo libraries: text-to-image, image-to-image, image-to-text retrieval, captions and ingest.',
    },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token (or the X-API-Key header)' } } },
    // Every /v1 operation needs a key; scopes and owner pinning are described in the README.
    security: keyed,
    paths: {
      '/v1/search/text': {
        post: { summary: 'Search images with a (Chinese or English) text query', requestBody: { required: true, content: json(textSearchSchema(limits)) }, responses: { '200': searchResponse, ...errors } },
      },
      '/v1/search/image': {
        post: { summary: 'Find images similar to an uploaded image or an indexed image id', requestBody: { required: true, content: withUpload(imageSearchSchema(limits), 'image') }, responses: { '200': searchResponse, ...errors } },
      },
      '/v1/retrieve/text': {
        post: {
          summary: 'Image-to-text retrieval: the best-matching texts of the corpus for an image',
          requestBody: { required: true, content: withUpload(retrieveTextSchema(limits), 'image') },
          responses: { '200': { description: 'Ranked texts' }, ...errors },
        },
      },
      '/v1/classify': {
        post: { summary: 'Zero-shot labels for an image from a supplied label list', requestBody: { required: true, content: withUpload(classifySchema(limits), 'image') }, responses: { '200': { description: 'Labels with probabilities' }, ...errors } },
      },
      '/v1/images/{id}': {
        get: { summary: 'Image metadata', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': { description: 'Image', content: { 'application/json': { schema: imageRecord } } }, ...errors } },
      },
      '/v1/images/{id}/caption': {
        get: { summary: 'Caption of one image (cached)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': { description: '{ caption } or { caption: null, captionError }' }, ...errors } },
      },
      '/v1/images/{id}/thumbnail': {
        get: { summary: 'Thumbnail (JPEG, 256 px); also by signed URL (exp, sig) without a key', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': { description: 'image/jpeg' }, ...errors } },
      },
      '/v1/images/{id}/preview': {
        get: { summary: 'Preview (JPEG, 512 px)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': { description: 'image/jpeg' }, ...errors } },
      },
      '/v1/admin/ingest': {
        post: {
          summary: 'Start an ingest job from a folder under an allowed root, URLs, or uploaded files',
          security: keyed,
          requestBody: { required: true, content: withUpload(ingestRequestSchema, 'files', true) },
          responses: { '202': { description: 'Job accepted: { jobId, statusUrl }' }, '401': errorResponse, '403': errorResponse, ...errors },
        },
      },
      '/v1/admin/reconcile': {
        post: { summary: 'Compare Postgres with the vector store and optionally repair', security: keyed, requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { fix: { type: 'boolean' } } } } } }, responses: { '200': { description: 'Report' }, ...errors } },
      },
      '/v1/admin/jobs/{id}': {
        get: { summary: 'Ingest job progress', security: keyed, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': { description: 'Job status' }, ...errors } },
      },
      '/v1/admin/texts': {
        post: { summary: 'Add texts (captions, tags, names) to the image-to-text corpus', security: keyed, requestBody: { required: true, content: json(textIngestSchema) }, responses: { '200': { description: 'Stored text ids' }, ...errors } },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Readiness of database, vector store and model', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
    },
  };
}
