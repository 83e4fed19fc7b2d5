import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring URLs for thumbnails and previews, so `<img>` tags and the photo product's
 * pages can load them without sending an API key. A signature is only handed out in a response
 * to a caller allowed to see that image. Expiry is rounded up to the window, so a URL stays the
 * same (and cacheable) for a while.
 */
export class UrlSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly windowSeconds = 3600,
  ) {}

  private mac(path: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${path}\n${exp}`).digest('base64url');
  }

  sign(path: string, now = Date.now()): string {
    const w = this.windowSeconds;
    const exp = (Math.floor(now / 1000 / w) + 2) * w;
    return `${path}?exp=${exp}&sig=${this.mac(path, exp)}`;
  }

  verify(path: string, exp: unknown, sig: unknown, now = Date.now()): boolean {
    if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return false;
    if (Number(exp) * 1000 < now) return false;
    const expected = Buffer.from(this.mac(path, Number(exp)));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

/** Derived from the operator key, so signed URLs survive restarts; random when there is none. */
export function urlSigningSecret(adminKey: string | undefined): Buffer {
  return adminKey ? createHash('sha256').update(`url-signing\0${adminKey}`).digest() : randomBytes(32);
}
