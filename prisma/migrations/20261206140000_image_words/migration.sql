-- What is written about an image, beside what is printed in it (image_texts): its caption and its auto
-- tags, one row per field, in the same token index, so that a search says which field matched.
CREATE TABLE "image_words" (
  "image_id" UUID NOT NULL REFERENCES "images"("id") ON DELETE CASCADE,
  "field" TEXT NOT NULL CHECK ("field" IN ('caption', 'tags')),
  "source" TEXT NOT NULL,
  "text" TEXT NOT NULL,
  "content" TEXT NOT NULL,
  "tokens" TSVECTOR NOT NULL,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  PRIMARY KEY ("image_id", "field")
);
CREATE INDEX "image_words_tokens_idx" ON "image_words" USING GIN ("tokens");
