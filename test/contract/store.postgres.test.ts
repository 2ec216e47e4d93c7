// Runs the Store contract against PostgreSQL: a fresh database per run, dropped afterwards.
// Skipped with a reason when PostgreSQL is unreachable; under CI=true that is a failure instead.
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { openPostgres } from '../../src/store/open.ts';
import { storeContract } from './store.contract.ts';

const skip = await requirePostgres();

storeContract(
  'postgres',
  async () => {
    const db = await createTempDatabase('sbstore');
    try {
      const store = await openPostgres({ url: db.url, poolSize: 10 });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await db.drop();
        },
      };
    } catch (err) {
      await db.drop();
      throw err;
    }
  },
  { skip },
);
