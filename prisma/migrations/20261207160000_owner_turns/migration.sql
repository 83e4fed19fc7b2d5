-- Jobs take turns at the ingest worker: served_at is when a job's last turn began (or ended with work left),
-- and the next job claimed is of the owner whose last turn is oldest, then that owner's job that has waited
-- longest (a 10,000-photo import does not hold back 3 photos added meanwhile).
ALTER TABLE "ingest_jobs" ADD COLUMN "served_at" TIMESTAMPTZ(3);
CREATE INDEX "ingest_jobs_owner_served_at_idx" ON "ingest_jobs" ("owner", "served_at");
-- And at OCR and the image stages: a page takes every waiting owner's oldest before anyone's second. These
-- indexes let a claim find the owners with work in one probe each, however long one owner's backlog.
CREATE INDEX "images_ocr_pending_owner_idx" ON "images" ("owner", "ingested_at") WHERE "ocr_state" = 'pending';
CREATE INDEX "stage_tasks_pending_owner_idx" ON "stage_tasks" ("stage", "owner", "due_at") WHERE "state" = 'pending';
