-- Work that background stages (captions, auto tags, duplicate grouping, stages added later) do per image:
-- one row per stage and image, made for one version of the stage (its model), leased by the instance
-- doing it, retried with backoff, kept with its outcome so that status counts and restarts read it here.
CREATE TABLE "stage_tasks" (
  "stage" TEXT NOT NULL,
  "image_id" UUID NOT NULL REFERENCES "images"("id") ON DELETE CASCADE,
  "owner" TEXT NOT NULL,
  "version" TEXT NOT NULL,
  "state" TEXT NOT NULL DEFAULT 'pending',
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "due_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "lease_until" TIMESTAMPTZ(3),
  "leased_by" TEXT,
  "error" TEXT,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  PRIMARY KEY ("stage", "image_id")
);
CREATE INDEX "stage_tasks_due_idx" ON "stage_tasks" ("stage", "due_at") WHERE "state" = 'pending';
CREATE INDEX "stage_tasks_image_idx" ON "stage_tasks" ("image_id");
