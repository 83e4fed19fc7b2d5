-- A deleted image is marked first (hidden from every read at once), and its vector, files and row
-- are removed after; reconcile finishes what an outage or a crash interrupted.
ALTER TABLE "images" ADD COLUMN "deleted_at" TIMESTAMPTZ(3);
CREATE INDEX "images_deleted_at_idx" ON "images" ("deleted_at") WHERE "deleted_at" IS NOT NULL;
