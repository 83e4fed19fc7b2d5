import type { PointPayload } from '../store/vectorStore';

/** The vector store's copy of what filters need: written at ingest, rewritten by every change to an image. */
export function imagePayload(i: {
  owner: string;
  albums: string[];
  takenAt: Date | null | undefined;
  favorite: boolean;
  hidden: boolean;
  archived: boolean;
  tags: string[];
  autoTags: string[];
  places: string[];
  mediaType: 'image' | 'video';
  camera: string | null;
  latitude: number | null;
  longitude: number | null;
}): PointPayload {
  return {
    owner: i.owner,
    albums: i.albums,
    takenAt: i.takenAt?.getTime(),
    favorite: i.favorite,
    hidden: i.hidden,
    archived: i.archived,
    tags: i.tags,
    autoTags: i.autoTags,
    places: i.places,
    mediaType: i.mediaType,
    camera: i.camera ?? undefined,
    location: i.latitude !== null && i.longitude !== null ? { lat: i.latitude, lon: i.longitude } : undefined,
  };
}
