// A rep racing itself on one instance (the scaled suite runs the same race across instances).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { registerRep } from '../helpers/client.ts';
import { raceCloseAndTransfer } from '../helpers/races.ts';

describe('a rep racing itself', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('closes or transfers a chat, never both', async () => {
    const holder = await registerRep(server.url, 100);
    const other = await registerRep(server.url, 30);
    const { closed, transferred } = await raceCloseAndTransfer({ http: [server.url], ws: server.wsUrl }, holder, other, 20);
    assert.equal(closed + transferred, 20);
    assert.ok(closed >= 1 && transferred >= 1, `both outcomes happened, so the requests raced (closed ${closed}, transferred ${transferred})`);
  });
});
