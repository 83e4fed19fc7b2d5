import { defineConfig } from 'prisma/config';

// `prisma generate` needs no database; the URL only matters for `prisma migrate deploy`
// where the schema engine is available (see README, "Migrations").
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/imagesearch' },
});
