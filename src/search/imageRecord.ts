/** The image shapes the API returns. Types only, no imports: the web page's bundle uses them too. */
export interface ImageRecord {
  id: string;
  owner: string;
  sha256: string;
  source: string;
  sourceKind: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
  albums: string[];
  takenAt: string | null;
  ingestedAt: string;
  modelPack: string | null;
  state: string;
}

export interface ImageHit extends ImageRecord {
  score: number;
}
