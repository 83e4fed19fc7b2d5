-- A purged photo leaves a tombstone while a job of its owner asked for before the delete is unfinished: an upload
-- knows a photo only by its bytes, so no item names it before it is read, and none can be withdrawn by the delete.
CREATE TABLE "image_tombstones" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "image_tombstones_pkey" PRIMARY KEY ("id")
);
