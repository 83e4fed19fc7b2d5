-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "IngestState" AS ENUM ('pending', 'indexed', 'failed');

-- CreateEnum
CREATE TYPE "JobState" AS ENUM ('queued', 'running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "JobItemState" AS ENUM ('pending', 'done', 'skipped', 'failed');

-- CreateEnum
CREATE TYPE "SourceKind" AS ENUM ('folder', 'upload', 'url');

-- CreateEnum
CREATE TYPE "JobKind" AS ENUM ('folder', 'upload', 'url', 'reindex');

-- CreateTable
CREATE TABLE "images" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "source_kind" "SourceKind" NOT NULL,
    "source" TEXT NOT NULL,
    "mime" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" INTEGER NOT NULL,
    "albums" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "taken_at" TIMESTAMPTZ(3),
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "model_pack" TEXT,
    "state" "IngestState" NOT NULL DEFAULT 'pending',
    "error" TEXT,

    CONSTRAINT "images_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "captions" (
    "id" UUID NOT NULL,
    "image_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "score" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "captions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingest_jobs" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "kind" "JobKind" NOT NULL,
    "state" "JobState" NOT NULL DEFAULT 'queued',
    "total" INTEGER NOT NULL DEFAULT 0,
    "done" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "albums" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "ingest_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingest_items" (
    "id" UUID NOT NULL,
    "job_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "state" "JobItemState" NOT NULL DEFAULT 'pending',
    "image_id" UUID,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ingest_items_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "images_owner_taken_at_idx" ON "images"("owner", "taken_at");

-- CreateIndex
CREATE INDEX "images_state_idx" ON "images"("state");

-- CreateIndex
CREATE UNIQUE INDEX "images_owner_sha256_key" ON "images"("owner", "sha256");

-- CreateIndex
CREATE UNIQUE INDEX "captions_image_id_model_key" ON "captions"("image_id", "model");

-- CreateIndex
CREATE INDEX "ingest_jobs_state_idx" ON "ingest_jobs"("state");

-- CreateIndex
CREATE INDEX "ingest_items_job_id_state_idx" ON "ingest_items"("job_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "ingest_items_job_id_source_key" ON "ingest_items"("job_id", "source");

-- AddForeignKey
ALTER TABLE "captions" ADD CONSTRAINT "captions_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "images"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ingest_items" ADD CONSTRAINT "ingest_items_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ingest_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

