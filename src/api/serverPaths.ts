import path from 'node:path';

/**
 * What a tenant is told about the server's disk: nothing. Absolute paths under the owner's own folder, an
 * ingest root or the data folder (an image's source, a job's item errors) are shown relative to the
 * deepest of them, as a library-relative path; operators see them as they are.
 */
export function tenantView(rootsOf: (owner: string) => readonly string[]): (body: unknown, owner: string) => unknown {
  return (body, owner) => {
    const roots = [...new Set(rootsOf(owner))].sort((a, b) => b.length - a.length).map((r) => r.replace(/[\\/]+$/, ''));
    const relative = (s: string) => {
      let out = s;
      for (const r of roots) out = out === r ? '.' : out.replaceAll(r + path.sep, '');
      return out;
    };
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return relative(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v instanceof Date || v === null || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    };
    return walk(body);
  };
}
