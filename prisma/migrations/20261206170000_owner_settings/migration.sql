-- An owner's own settings: the time zone its queries' dates (昨天, 上个月) are read in.
CREATE TABLE "owner_settings" (
  "owner" TEXT PRIMARY KEY,
  "time_zone" TEXT,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);
