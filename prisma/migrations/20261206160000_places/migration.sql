-- Where a photo with GPS was taken, by offline reverse geocoding (src/places): the place as JSON (country,
-- province, city, each in Chinese and English), every name a filter may use, and the gazetteer that made it.
ALTER TABLE "images"
  ADD COLUMN "place" JSONB,
  ADD COLUMN "places" TEXT[] NOT NULL DEFAULT '{}',
  ADD COLUMN "place_version" TEXT;
CREATE INDEX "images_places_idx" ON "images" USING GIN ("places");
