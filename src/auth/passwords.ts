// Password hashing with scrypt on libuv's thread pool, so hashing never blocks the event loop.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// N=2^14, r=8, p=1: 16 MiB and about 30-50 ms on this class of machine (see bench/), OWASP's floor for scrypt.
const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 128 * o.N * o.r * 2 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFKC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

/** The stored parameters, if they are well formed and bounded (a corrupt row must not allocate gigabytes). */
function storedParams(parts: string[]): { N: number; r: number; p: number; salt: Buffer; expected: Buffer } | undefined {
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  if (!parts.slice(1, 4).every((v) => DECIMAL.test(v)) || !B64URL.test(parts[4]) || !B64URL.test(parts[5])) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  // N a power of two from 2^10 to 2^20; r and p small, as any hash this module wrote.
  if (N < 1024 || N > 1 << 20 || (N & (N - 1)) !== 0 || r > 32 || p > 16) return undefined;
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  if (salt.length < 8 || expected.length !== KEY_LEN) return undefined;
  return { N, r, p, salt, expected };
}

/** True only for the right password; a wrong password or a malformed stored hash is false, never an error. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const params = typeof stored === 'string' ? storedParams(stored.split('$')) : undefined;
  if (!params) return false;
  let key: Buffer;
  try {
    key = await derive(password, params.salt, params);
  } catch {
    return false;
  }
  return key.length === params.expected.length && timingSafeEqual(key, params.expected);
}

/** A hash to compare against when the user does not exist, so that timing does not reveal usernames. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(12).toString('hex'));
  return dummy;
}
