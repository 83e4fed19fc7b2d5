-- CreateTable
CREATE TABLE "texts" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL DEFAULT '',
    "external_id" TEXT,
    "text" TEXT NOT NULL,
    "model_pack" TEXT,
    "state" "IngestState" NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "texts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "texts_owner_idx" ON "texts"("owner");

