-- A job its owner or the operator cancelled: not resumed, its pending items left as they are.
ALTER TYPE "JobState" ADD VALUE IF NOT EXISTS 'cancelled';
CREATE INDEX "ingest_jobs_owner_created_at_idx" ON "ingest_jobs" ("owner", "created_at");
