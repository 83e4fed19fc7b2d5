/** A position in degrees (WGS 84). */
export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface GeoCircle extends GeoPoint {
  radiusKm: number;
}

/** A latitude/longitude box; west > east means it crosses the antimeridian. */
export interface GeoBox {
  south: number;
  west: number;
  north: number;
  east: number;
}

/** Mean Earth radius (IUGG), the one Qdrant's geo_radius uses too. */
export const EARTH_RADIUS_KM = 6371.0088;

const rad = (d: number) => (d * Math.PI) / 180;

/** Great-circle distance (haversine). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lon - a.lon) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function inBox(p: GeoPoint, b: GeoBox): boolean {
  if (p.lat < b.south || p.lat > b.north) return false;
  return b.west <= b.east ? p.lon >= b.west && p.lon <= b.east : p.lon >= b.west || p.lon <= b.east;
}
