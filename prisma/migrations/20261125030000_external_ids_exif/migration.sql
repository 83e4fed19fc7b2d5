-- External ids: the photo product's own asset id, unique per owner. An image with one is identified
-- by it, so the same bytes may now be two images of one owner: (owner, sha256) stops being unique.
ALTER TABLE "images" ADD COLUMN "external_id" TEXT;
DROP INDEX "images_owner_sha256_key";
CREATE INDEX "images_owner_sha256_idx" ON "images"("owner", "sha256");
CREATE UNIQUE INDEX "images_owner_external_id_key" ON "images"("owner", "external_id");
ALTER TABLE "ingest_items" ADD COLUMN "external_id" TEXT;

-- What EXIF says about where and with what a photo was taken, for filters.
CREATE TYPE "MediaType" AS ENUM ('image', 'video');
ALTER TABLE "images" ADD COLUMN "media_type" "MediaType" NOT NULL DEFAULT 'image';
ALTER TABLE "images" ADD COLUMN "camera" TEXT;
ALTER TABLE "images" ADD COLUMN "latitude" DOUBLE PRECISION;
ALTER TABLE "images" ADD COLUMN "longitude" DOUBLE PRECISION;
CREATE INDEX "images_owner_camera_idx" ON "images"("owner", "camera");
