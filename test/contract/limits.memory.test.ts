// Runs the Limits contract against the in-process adapter.
import { MemoryLimits } from '../../src/limits/memory-limits.ts';
import { limitsContract } from './limits.contract.ts';

limitsContract('memory', async () => {
  const limits = new MemoryLimits();
  return { limits, cleanup: () => limits.close() };
});
