-- A caption made by translating: the captioner's own words (English), kept beside the Chinese.
ALTER TABLE "captions" ADD COLUMN "original" TEXT;
