import { Prisma } from '../generated/client';

/** A time `ms` from now by the database's clock: leases and retry delays, so instances' clocks need not agree. */
export const msFromNow = (ms: number): Prisma.Sql => Prisma.sql`now() + ${ms} * interval '1 millisecond'`;
