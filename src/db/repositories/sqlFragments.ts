import { Prisma } from '../generated/client';

/** A time `ms` from now by the database's clock: leases and retry delays, so instances' clocks need not agree. */
export const msFromNow = (ms: number): Prisma.Sql => Prisma.sql`now() + ${ms} * interval '1 millisecond'`;

/** A batch's ingest items with their images as rows d(id, image_id), to update the items from in one statement. */
export const itemImagePairs = (pairs: readonly { itemId: string; imageId: string }[]): Prisma.Sql =>
  Prisma.sql`unnest(${pairs.map((p) => p.itemId)}::uuid[], ${pairs.map((p) => p.imageId)}::uuid[]) AS d(id, image_id)`;
