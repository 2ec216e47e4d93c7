// Unknown socket paths still complete the handshake, then close with 4404, so that a client learns why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { connect } from '../helpers/client.ts';

describe('unknown socket paths', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('completes the handshake on unknown socket paths and closes with 4404', async () => {
    for (const path of ['/ws/', '/ws/unknown/', '/ws/customer_support/', `/ws/customer_support/00000000-0000-7000-8000-000000000000/extra/`]) {
      const s = connect(server.wsUrl, path, {});
      await s.opened;
      assert.equal(await s.waitClose(3000), 4404, path);
    }
  });
});
