// Runs the Router contract against the in-process adapter.
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { routerContract } from './router.contract.ts';
import { routerPagesContract } from './router-pages.contract.ts';
import { routerAdmitContract } from './router-admit.contract.ts';

routerContract('memory', async () => {
  const router = new MemoryRouter();
  return { router, cleanup: () => router.close() };
});

routerPagesContract('memory', async () => {
  const router = new MemoryRouter();
  return { router, cleanup: () => router.close() };
});

routerAdmitContract('memory', async () => {
  const router = new MemoryRouter();
  return { router, cleanup: () => router.close() };
});
