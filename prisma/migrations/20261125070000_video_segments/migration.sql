-- Videos, Live Photos and animated images: one image row per asset, whose vector-store points are the
-- asset's own id (its still, or its first sampled frame) and segment_count more, one per later frame
-- (ids derived from the asset's id and the frame's index, times in the points' payloads).
ALTER TABLE "images" ADD COLUMN "duration_ms" INTEGER;
ALTER TABLE "images" ADD COLUMN "video_codec" TEXT;
ALTER TABLE "images" ADD COLUMN "segment_count" INTEGER NOT NULL DEFAULT 0;
-- The start of each point's stretch of time, point 0 first; -1 for a Live Photo's still, which stands for no stretch.
ALTER TABLE "images" ADD COLUMN "frame_times_ms" INTEGER[] NOT NULL DEFAULT '{}';
