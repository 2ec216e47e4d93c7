// Comparison of a presented secret with the configured one, in time that does not depend on where they differ.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();

/** Both sides are hashed first, so that neither the content nor the length of the secret leaks through timing. */
export function sameSecret(presented: string | undefined | null, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  return timingSafeEqual(digest(presented), digest(expected));
}
