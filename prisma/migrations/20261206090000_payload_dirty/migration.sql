-- A change to an image's filter fields (PATCH) is written to Postgres with this flag, and the flag is cleared
-- once the vector payload the search filters read has the change too: a crash in between leaves the flag,
-- and the next start (or reconcile) brings the payload in line.
ALTER TABLE "images" ADD COLUMN "payload_dirty" BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX "images_payload_dirty_idx" ON "images" ("id") WHERE "payload_dirty";
