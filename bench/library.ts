/**
 * npm run bench:library — one owner's library listed page by page (GET /v1/images's query), written to
 * bench/library-results.json and bench/library-results.md. Size via env: BENCH_LIBRARY_PHOTOS (100 000).
 *
 * Pages are read through the repository as the service reads them (keyset: after the last photo shown)
 * and, for comparison in the same run, at an offset (how the listing paged before) as plain SQL with the
 * same order: no ORM mapping, which flatters the offset.
 */
import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { openDatabase } from '../src/cli/services';
import { loadConfig } from '../src/config/env';
import { tempDirForCluster } from '../src/db/localPostgres';
import { positionOf, type ImageRepository, type ImageSort, type LibraryPosition } from '../src/db/repositories';
import { envNumber } from './harness';
import { round, summarize, timed, writeBenchResults } from './stats';

const PAGE = 100;
const OWNER = 'bench-library';
const ORDER: Record<ImageSort, string> = { takenAt: 'taken_at DESC NULLS LAST, id', ingestedAt: 'ingested_at DESC, id' };

/** Photos with capture times shuffled over ten years, one in seven undated. */
async function fill(sql: Client, photos: number): Promise<void> {
  await sql.query(
    `INSERT INTO images (id, owner, sha256, source_kind, source, mime, width, height, bytes, taken_at, state, updated_at)
     SELECT ('30000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, $1, lpad(i::text, 64, '0'), 'folder',
            '/photos/' || i || '.jpg', 'image/jpeg', 4032, 3024, 2000000,
            CASE WHEN i % 7 = 0 THEN NULL ELSE timestamptz '2015-01-01' + ((i * 7919) % $2) * interval '3150 seconds' END, 'indexed', now()
     FROM generate_series(0, $2 - 1) AS i`,
    [OWNER, photos],
  );
  await sql.query('ANALYZE images');
}

/** ms per page at the start, the middle and the end of the library, walked by keyset and at an offset. */
async function pageTimes(images: ImageRepository, sql: Client, sort: ImageSort, photos: number) {
  // Warm: the first query of a process pays for its connection.
  await images.listPage({ owner: OWNER }, sort, null, PAGE + 1);
  const keyset: number[] = [];
  let after: LibraryPosition | null = null;
  for (;;) {
    const { ms, value: rows } = await timed(() => images.listPage({ owner: OWNER }, sort, after, PAGE + 1));
    keyset.push(ms);
    if (rows.length <= PAGE) break;
    after = positionOf(sort, rows[PAGE - 1]!);
  }
  const atOffset = async (offset: number) => {
    const ms: number[] = [];
    const query = `SELECT * FROM images WHERE owner = $1 AND state = 'indexed' AND deleted_at IS NULL AND NOT hidden AND NOT archived
                   ORDER BY ${ORDER[sort]} OFFSET $2 LIMIT $3`;
    for (let i = 0; i < 5; i++) ms.push((await timed(() => sql.query(query, [OWNER, offset, PAGE + 1]))).ms);
    return summarize(ms).p50;
  };
  const pages = keyset.length;
  const around = (i: number) => summarize(keyset.slice(Math.max(0, i - 2), i + 3)).p50;
  const middle = Math.floor(pages / 2);
  return {
    sort,
    pages,
    keyset: { all: summarize(keyset), first: around(0), middle: around(middle), last: around(pages - 3) },
    offset: { first: await atOffset(0), middle: await atOffset(middle * PAGE), last: await atOffset(photos - PAGE) },
  };
}

type PageTimes = Awaited<ReturnType<typeof pageTimes>>;

function markdown(photos: number, results: PageTimes[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.sort} | ${r.pages} | ${r.keyset.first} / ${r.keyset.middle} / ${r.keyset.last} | ${r.offset.first} / ${r.offset.middle} / ${r.offset.last} | ${round(r.offset.last / r.keyset.last, 1)}× |`,
  );
  return [
    `One owner's library of ${photos} photos (one in seven undated), listed ${PAGE} at a time; p50 ms of the pages around each point. Keyset: the repository's query, as \`GET /v1/images\` runs it. Offset: plain SQL with the same order (no ORM mapping, which flatters it).`,
    '',
    '| sort | pages | keyset ms: first / middle / last | offset ms: first / middle / last | last page, offset ÷ keyset |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (require.main === module) {
  void (async () => {
    const started = new Date().toISOString();
    const photos = envNumber('BENCH_LIBRARY_PHOTOS', 100_000);
    const root = await tempDirForCluster('imagesearch-bench-library-');
    const database = await openDatabase(loadConfig({ ...process.env, DATA_DIR: root, LOG_LEVEL: 'warn' }));
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      await fill(sql, photos);
      const results = [await pageTimes(database.repos.images, sql, 'takenAt', photos), await pageTimes(database.repos.images, sql, 'ingestedAt', photos)];
      await writeBenchResults('library', 'Library listing benchmark', 'npm run bench:library', started, { photos, results }, markdown(photos, results));
    } finally {
      await sql.end();
      await database.close();
      await rm(root, { recursive: true, force: true });
    }
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
