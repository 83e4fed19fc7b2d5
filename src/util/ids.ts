import { createHash } from 'node:crypto';

// Fixed namespace for this service's name-based UUIDs (RFC 9562 v5).
const NAMESPACE = Buffer.from('6f3e2a1c9b8d4e7fa1c2d3e4f5a6b7c8', 'hex');

export function uuidV5(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The image id and vector point id: content identity scoped to its owner, so the same
 * photo in two owners' libraries stays two independent records.
 */
export function imageId(owner: string, sha256: string): string {
  return uuidV5(`image\u0000${owner}\u0000${sha256}`);
}

/** The id of an image the product named: stable across new bytes under the same external id. */
export function externalImageId(owner: string, externalId: string, salt = ''): string {
  return uuidV5(`external\u0000${owner}\u0000${externalId}${salt ? `\u0000${salt}` : ''}`);
}

export function sha256Hex(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export { UUID_RE } from './uuid';

/** The vector point (and derivative files) of a video's or animated image's frame `index` (>= 1; 0 is the asset's own id). */
export function segmentPointId(assetId: string, index: number): string {
  return index === 0 ? assetId : uuidV5(`segment\u0000${assetId}\u0000${index}`);
}

/** Every vector point of an asset: its own id, then one per later frame. */
export function assetPointIds(asset: { id: string; segmentCount: number }): string[] {
  return Array.from({ length: asset.segmentCount + 1 }, (_, k) => segmentPointId(asset.id, k));
}
