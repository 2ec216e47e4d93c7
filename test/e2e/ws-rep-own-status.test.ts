// A rep's own choice of status outlives its console: one that set itself offline stays offline when /ws/agent/
// reconnects (only presence's offline is undone by a return).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { connect, http, registerRep } from '../helpers/client.ts';

describe('a rep\'s own status', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('keeps a rep that set itself offline offline when its console reconnects', async () => {
    const own = await registerRep(server.url, 1);
    const agent = connect(server.wsUrl, '/ws/agent/', { token: own.access });
    await agent.waitType('queue');
    assert.equal((await http(server.url, 'PATCH', '/api/reps/me/', { token: own.access, body: { status: 'offline' } })).body.status, 'offline');
    agent.close();
    await agent.waitClose();
    const again = connect(server.wsUrl, '/ws/agent/', { token: own.access });
    await again.waitType('queue');
    assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: own.access })).body.status, 'offline');
    again.close();
  });
});
