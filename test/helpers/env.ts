// How the test run was asked to behave: under CI a missing service is a failure, not a skip.

/** `CI=true` and `CI=1` both mean CI (the forges set one or the other). */
export function isCI(): boolean {
  const v = (process.env.CI ?? '').toLowerCase();
  return v === 'true' || v === '1';
}

/** Outside CI: warns and returns the skip reason. Under CI: throws, so that the run fails loudly. */
export function skipOrFail(reason: string, what: string): string {
  if (isCI()) throw new Error(`${reason}; CI requires it.`);
  console.warn(`SKIPPING ${what}: ${reason}`);
  return reason;
}
