-- Watched library folders: what was on disk at the last scan, so a restart (or a file system that
-- sends no events) is caught up by comparing the disk with these rows.
CREATE TABLE "watched_folders" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "albums" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "external_id_prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_scan_at" TIMESTAMPTZ(3),
    CONSTRAINT "watched_folders_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "watched_folders_owner_path_key" ON "watched_folders"("owner", "path");

CREATE TABLE "watched_files" (
    "folder_id" UUID NOT NULL,
    "rel_path" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "mtime_ms" DOUBLE PRECISION NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    CONSTRAINT "watched_files_pkey" PRIMARY KEY ("folder_id", "rel_path"),
    CONSTRAINT "watched_files_folder_id_fkey" FOREIGN KEY ("folder_id") REFERENCES "watched_folders"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
