// Scaled-out mode (REDIS_URL set): not available yet in this build.
import type { Config } from './config.ts';

export async function startScaledOut(_config: Config, _cleanups: Array<() => Promise<void> | void>): Promise<void> {
  throw new Error('REDIS_URL is set, but scaled-out mode is not built yet.');
}
