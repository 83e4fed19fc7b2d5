import { Prisma } from '../generated/client';

/** A time `ms` from now by the database's clock: leases and retry delays, so instances' clocks need not agree. */
export const msFromNow = (ms: number): Prisma.Sql => Prisma.sql`now() + ${ms} * interval '1 millisecond'`;

/** A batch's ingest items with their images as rows d(id, image_id), to update the items from in one statement. */
export const itemImagePairs = (pairs: readonly { itemId: string; imageId: string }[]): Prisma.Sql =>
  Prisma.sql`unnest(${pairs.map((p) => p.itemId)}::uuid[], ${pairs.map((p) => p.imageId)}::uuid[]) AS d(id, image_id)`;

/** jsonb refuses a lone surrogate (JSON.stringify writes it as an escape); as UTF-8 parameters do, it becomes U+FFFD. */
const wellFormed = (_key: string, value: unknown): unknown => (typeof value === 'string' ? value.replace(/\p{Surrogate}/gu, '\ufffd') : value);

/** A value handed to PostgreSQL as one jsonb parameter. */
export const jsonb = (value: unknown): Prisma.Sql => Prisma.sql`${JSON.stringify(value, wellFormed)}::jsonb`;

/** Where owners take turns at a queue of `table` (aliased t): what is waiting, what can be claimed now, and in which order. */
export interface OwnerQueue {
  table: Prisma.Sql;
  /** Rows waiting at all (the partial index on (owner, ...) that finds the owners with work). */
  waiting: Prisma.Sql;
  /** Rows that can be claimed now. */
  claimable: Prisma.Sql;
  /** An owner's own order, oldest first, and the row's key. */
  at: Prisma.Sql;
  key: Prisma.Sql;
}

/**
 * The keys of the next `take` claimable rows, locked (SKIP LOCKED: concurrent claims take different rows), owners
 * taking turns: every owner's oldest before any owner's second, so one owner's backlog of 40,000 photos does not hold
 * back another's three. The owners with work are found by a skip scan of the waiting rows' index (one probe per
 * owner), then each owner's oldest `take`: a claim costs as much behind a backlog of 40,000 as behind one of 16.
 */
export const ownersTakingTurns = (q: OwnerQueue, take: number): Prisma.Sql => Prisma.sql`
  WITH RECURSIVE owners(owner) AS (
    (SELECT t.owner FROM ${q.table} t WHERE ${q.waiting} ORDER BY t.owner LIMIT 1)
    UNION ALL
    SELECT (SELECT t.owner FROM ${q.table} t WHERE ${q.waiting} AND t.owner > o.owner ORDER BY t.owner LIMIT 1)
    FROM owners o WHERE o.owner IS NOT NULL
  )
  SELECT c.key FROM owners o CROSS JOIN LATERAL (
    SELECT ${q.key} AS key, ${q.at} AS at FROM ${q.table} t WHERE ${q.claimable} AND t.owner = o.owner
    ORDER BY ${q.at}, ${q.key} LIMIT ${take} FOR UPDATE SKIP LOCKED) c
  WHERE o.owner IS NOT NULL
  ORDER BY row_number() OVER (PARTITION BY o.owner ORDER BY c.at, c.key), c.at, c.key
  LIMIT ${take}`;
