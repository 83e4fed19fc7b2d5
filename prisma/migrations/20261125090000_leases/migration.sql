-- Ingest jobs are leased, so that several service instances (and the ingest CLI) can share one
-- database without running a job twice: the holder renews its lease while it works, and a lease that
-- runs out (the holder crashed) frees the job for anyone. A job stopped by a vector store outage
-- waits until retry_at, with a backoff that grows with retries.
ALTER TABLE "ingest_jobs" ADD COLUMN "lease_owner" TEXT;
ALTER TABLE "ingest_jobs" ADD COLUMN "lease_until" TIMESTAMPTZ(3);
ALTER TABLE "ingest_jobs" ADD COLUMN "retry_at" TIMESTAMPTZ(3);
ALTER TABLE "ingest_jobs" ADD COLUMN "retries" INTEGER NOT NULL DEFAULT 0;
CREATE INDEX "ingest_jobs_unfinished_idx" ON "ingest_jobs"("created_at") WHERE "state" IN ('queued', 'running');

-- OCR's queue is the images pending a reading; an instance leases a page of them before it reads, so
-- two instances never read one image twice. A lease left by a crash runs out and the image is read again.
ALTER TABLE "images" ADD COLUMN "ocr_lease_until" TIMESTAMPTZ(3);
