// A socket's place in MAX_SOCKETS_PER_USER is a lease in Redis that its instance renews. When an instance is
// SIGKILLed it never releases its sockets' places: they must come back once SOCKET_LEASE_MS has passed, while
// the surviving instance's sockets, renewed, keep theirs. Two real instances, one PostgreSQL, a throwaway Redis.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../helpers/processes.ts';
import { scaledSkip, startScaledPair, type ScaledPair } from '../helpers/scaled-pair.ts';
import { connect, registerRep, type TestSocket } from '../helpers/client.ts';
import { eventually } from '../helpers/wait.ts';

const LEASE_MS = 1500;

describe('scaled out: a killed instance\'s socket leases expire', async () => {
  const skip = await scaledSkip();
  let pair: ScaledPair | undefined;
  let a: Instance;
  let b: Instance;

  before(async () => {
    if (skip) return;
    pair = await startScaledPair('lease', {
      MAX_SOCKETS_PER_USER: '2',
      SOCKET_LEASE_MS: String(LEASE_MS),
    });
    ({ a, b } = pair);
  });

  after(async () => {
    await pair?.stop();
  });

  /** A socket that got in answers a ping; one over the cap is closed with 1008 after the handshake. */
  async function admitted(s: TestSocket): Promise<boolean> {
    await s.opened;
    s.send({ type: 'ping' });
    const outcome = await Promise.race([s.waitType('pong').then(() => 'in' as const), s.closedPromise.then(() => 'out' as const)]);
    if (outcome === 'out') {
      assert.equal(s.closeCode, 1008, `refused: ${s.closeCode} ${s.closeReason}`);
      assert.equal(s.closeReason, 'too many sockets');
      return false;
    }
    return true;
  }

  it("the places of a SIGKILLed instance's sockets come back after SOCKET_LEASE_MS; the live instance keeps its own", { skip }, async () => {
    // Reps with no chats: their /ws/agent/ sockets count against MAX_SOCKETS_PER_USER (2) alone.
    const [rep, other] = await Promise.all([registerRep(a.url, 1), registerRep(a.url, 1)]);
    const agent = (inst: Instance, who = rep) => connect(inst.wsUrl, '/ws/agent/', { token: who.access });
    // `rep` holds one place on A and one on B; `other` holds both of its places on B.
    const onA = agent(a);
    assert.equal(await admitted(onA), true);
    assert.equal(await admitted(agent(b)), true);
    for (let i = 0; i < 2; i++) assert.equal(await admitted(agent(b, other)), true);
    assert.equal(await admitted(agent(a)), false, 'the cap holds across the two instances');
    assert.equal(await admitted(agent(a, other)), false);

    // B dies without releasing anything: its sockets' leases stay in Redis until they run out.
    b.kill('SIGKILL');
    await b.exited;
    const takePlace = (who: typeof rep) =>
      eventually(
        async () => {
          const s = agent(a, who);
          return (await admitted(s)) ? s : false;
        },
        { timeoutMs: 20 * LEASE_MS, intervalMs: 100, what: 'a place freed by a lease running out' },
      );
    // `other` gets back in only once B's leases have run out: a lease's length has passed since the kill.
    const back = [await takePlace(other), await takePlace(other)];
    // So has longer than that since onA was admitted: only A's renewals kept its place. `rep` has exactly
    // one place free (B's), not two.
    const again = await takePlace(rep);
    assert.equal(await admitted(agent(a)), false, "the live instance's renewed lease still counts");
    onA.send({ type: 'ping' });
    await onA.waitType('pong', 15_000, onA.mark());
    for (const s of [onA, again, ...back]) s.close();
  });
});
