-- A delete withdraws the pending items that would write its photos again (by image, or by the external id an
-- upload brings): these let it find them without reading every pending item of a large import.
CREATE INDEX "ingest_items_pending_image_idx" ON "ingest_items" ("image_id") WHERE "state" = 'pending';
CREATE INDEX "ingest_items_pending_external_id_idx" ON "ingest_items" ("external_id") WHERE "state" = 'pending';
