-- What a photo product changes after ingest: favourites, hidden and archived photos, free tags.
ALTER TABLE "images"
  ADD COLUMN "favorite" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "hidden" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "archived" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX "images_tags_idx" ON "images" USING GIN ("tags");
CREATE INDEX "images_owner_ingested_at_idx" ON "images" ("owner", "ingested_at");
