-- Text read in images (OCR): the lines with boxes and confidences, and a token index for search.
-- Tokens are characters, character pairs and words of the folded text (see src/ocr/textTokens.ts),
-- stored with array_to_tsvector so no text-search parser or locale decides what a word is.
CREATE TYPE "OcrState" AS ENUM ('pending', 'done', 'failed');
ALTER TABLE "images" ADD COLUMN "ocr_state" "OcrState";
ALTER TABLE "images" ADD COLUMN "ocr_error" TEXT;
CREATE INDEX "images_ocr_state_idx" ON "images"("ocr_state");

CREATE TABLE "image_texts" (
    "image_id" UUID NOT NULL,
    "engine" TEXT NOT NULL,
    "lines" JSONB NOT NULL,
    "content" TEXT NOT NULL,
    "tokens" tsvector NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "image_texts_pkey" PRIMARY KEY ("image_id"),
    CONSTRAINT "image_texts_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "images"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "image_texts_tokens_idx" ON "image_texts" USING GIN ("tokens");

-- Backfill jobs run OCR over images ingested before it existed.
ALTER TYPE "JobKind" ADD VALUE 'ocr';
