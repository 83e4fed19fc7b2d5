import { API_ROUTES } from '../../src/api/contract';
import { errorCodesOf, expressPath, resolveSchema, type RouteSpec } from '../../src/api/contract/route';
import { ERROR_CODES } from '../../src/errors/codes';

const LIMITS = { queryMaxChars: 256, searchMaxLimit: 100 };

describe('route declarations (no database, no model)', () => {
  test('each path is unique per method, its parameters are declared, and every code it answers with is in the catalogue', () => {
    const seen = new Set<string>();
    for (const [name, r] of Object.entries(API_ROUTES) as [string, RouteSpec][]) {
      const key = `${r.method} ${r.path}`;
      expect({ name, duplicate: seen.has(key) }).toEqual({ name, duplicate: false });
      seen.add(key);
      const inPath = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = r.params ? Object.keys((r.params as unknown as { shape: object }).shape) : [];
      expect({ name, params: declared.sort() }).toEqual({ name, params: inPath.sort() });
      for (const code of errorCodesOf(r)) expect(ERROR_CODES[code]).toBeDefined();
    }
  });

  test('the codes a route answers with follow from what it declares', () => {
    const codes = (name: keyof typeof API_ROUTES) => errorCodesOf(API_ROUTES[name]).sort();
    expect(codes('health')).toEqual(['internal_error', 'timeout']);
    expect(codes('getImage')).toEqual([
      'database_unavailable',
      'forbidden',
      'internal_error',
      'not_found',
      'rate_limited',
      'timeout',
      'unauthorized',
      'validation_error',
    ]);
    expect(codes('ingest')).toEqual(expect.arrayContaining(['path_not_allowed', 'upload_limit_file_size', 'invalid_json', 'unsupported_media_type']));
    expect(codes('cancelJob')).toContain('job_finished');
  });

  test("Express's spelling of a path, and schemas made from the configured limits", () => {
    expect(expressPath('/v1/images/{id}/segments/{segment}/preview')).toBe('/v1/images/:id/segments/:segment/preview');
    const search = resolveSchema(API_ROUTES.searchText.body.schema, LIMITS);
    expect(search.safeParse({ query: 'x'.repeat(257) }).success).toBe(false);
    expect(search.safeParse({ query: '海边' }).success).toBe(true);
  });
});
