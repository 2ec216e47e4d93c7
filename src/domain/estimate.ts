// Wait estimates from recent service times: position x mean handle time / online capacity.

const DEFAULT_HANDLE_S = 300;

export function meanHandleTimeS(samples: number[]): number {
  if (samples.length === 0) return DEFAULT_HANDLE_S;
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** Position 1 is next: it waits for the first of `capacity` busy slots to free, on average. */
export function estimateWaitS(position: number, meanHandleS: number, onlineCapacity: number): number {
  if (position <= 0) return 0;
  return Math.ceil((position * meanHandleS) / Math.max(1, onlineCapacity));
}
