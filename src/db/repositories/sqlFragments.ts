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
