-- Owners take turns at the ingest worker: a job's last turn began at served_at, and the next job
-- claimed is of the owner whose last turn is oldest (one owner's 10,000 photos do not hold back another's 3).
ALTER TABLE "ingest_jobs" ADD COLUMN "served_at" TIMESTAMPTZ(3);
CREATE INDEX "ingest_jobs_owner_served_at_idx" ON "ingest_jobs" ("owner", "served_at");
