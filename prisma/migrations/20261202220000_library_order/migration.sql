-- The library listing's two orders, each with its id tiebreak: a page (keyset, after the last photo shown)
-- is then read from the index in order, however deep in a library it starts. They also serve capture-time
-- ranges, so they replace the plain (owner, time) indexes.
DROP INDEX IF EXISTS "images_owner_taken_at_idx";
DROP INDEX IF EXISTS "images_owner_ingested_at_idx";
CREATE INDEX "images_owner_taken_at_id_idx" ON "images" ("owner", "taken_at" DESC NULLS LAST, "id");
CREATE INDEX "images_owner_ingested_at_id_idx" ON "images" ("owner", "ingested_at" DESC, "id");
