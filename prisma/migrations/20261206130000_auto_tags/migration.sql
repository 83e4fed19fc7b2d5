-- Tags the image pack chose from the built-in vocabulary (src/autotags), apart from the user's own
-- `tags`, best first with their scores, and the pack and vocabulary that chose them.
ALTER TABLE "images"
  ADD COLUMN "auto_tags" TEXT[] NOT NULL DEFAULT '{}',
  ADD COLUMN "auto_tag_scores" REAL[] NOT NULL DEFAULT '{}',
  ADD COLUMN "auto_tags_model" TEXT;
CREATE INDEX "images_auto_tags_idx" ON "images" USING GIN ("auto_tags");
