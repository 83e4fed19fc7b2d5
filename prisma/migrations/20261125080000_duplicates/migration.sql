-- Near-duplicates and bursts. Each photo keeps a 64-bit difference hash of its pixels (exact re-encodes
-- are a few bits apart), how sharp it is and whether an editor saved it (which copy to keep).
ALTER TABLE "images" ADD COLUMN "phash" BIGINT;
ALTER TABLE "images" ADD COLUMN "sharpness" REAL;
ALTER TABLE "images" ADD COLUMN "edited" BOOLEAN NOT NULL DEFAULT false;

-- Groups are found at ingest, one new photo or video frame at a time: a point joins the groups of
-- its near neighbours (merging them). A dismissed group stays hidden until a new member joins it.
CREATE TABLE "duplicate_groups" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dismissed_at" TIMESTAMPTZ(3),
    CONSTRAINT "duplicate_groups_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "duplicate_groups_owner_updated_at_idx" ON "duplicate_groups"("owner", "updated_at");

CREATE TABLE "duplicate_members" (
    "point_id" UUID NOT NULL,
    "image_id" UUID NOT NULL,
    "segment" INTEGER NOT NULL DEFAULT 0,
    "group_id" UUID NOT NULL,
    "via" TEXT NOT NULL,
    "similarity" REAL NOT NULL,
    CONSTRAINT "duplicate_members_pkey" PRIMARY KEY ("point_id"),
    CONSTRAINT "duplicate_members_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "images"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "duplicate_members_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "duplicate_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "duplicate_members_group_id_idx" ON "duplicate_members"("group_id");
CREATE INDEX "duplicate_members_image_id_idx" ON "duplicate_members"("image_id");
