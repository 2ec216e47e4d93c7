// Runs the Router contract against the in-process adapter.
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { routerContract } from './router.contract.ts';
import { routerPagesContract } from './router-pages.contract.ts';
import { routerGapsContract } from './router-gaps.contract.ts';

routerContract('memory', async (opts) => {
  const router = new MemoryRouter({ gapHoldMs: opts?.gapHoldMs ?? 0 });
  return { router, cleanup: () => router.close() };
});

routerPagesContract('memory', async (opts) => {
  const router = new MemoryRouter({ gapHoldMs: opts?.gapHoldMs ?? 0 });
  return { router, cleanup: () => router.close() };
});

routerGapsContract('memory', async (opts) => {
  const router = new MemoryRouter({ gapHoldMs: opts?.gapHoldMs ?? 0 });
  return { router, cleanup: () => router.close() };
});
