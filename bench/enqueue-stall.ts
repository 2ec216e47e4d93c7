// Enqueue cost and order across instances on PostgreSQL + Redis: N instances (contexts with their own router
// client and routing lock, one pool) enqueue M conversations each at once, with no rep; then the router's queue
// order is compared with queue_seq order, and a message send is timed while one instance's router call stalls
// for STALL_MS. Run: node --import tsx bench/enqueue-stall.ts (needs PostgreSQL and Redis, see test/helpers).
import { openPostgres } from '../src/store/open.ts';
import { RedisRouter } from '../src/routing/redis/redis-router.ts';
import { MemoryBus } from '../src/bus/memory-bus.ts';
import { ServiceContext } from '../src/services/context.ts';
import { enqueueConversation } from '../src/services/enqueue.ts';
import { sendMessage } from '../src/services/messages.ts';
import { createTempDatabase } from '../test/helpers/pg.ts';
import { connectRedis, uniquePrefix } from '../test/helpers/redis.ts';

const INSTANCES = Number(process.env.INSTANCES ?? 4);
const PER = Number(process.env.PER ?? 100);
const POOL = Number(process.env.POOL ?? 4);
const STALL_MS = Number(process.env.STALL_MS ?? 1000);
const PW = 'scrypt$16384$8$1$x$y';
let n = 0;
const user = (p: string) => ({ username: `${p}${n++}`, email: '', firstName: '', lastName: '', passwordHash: PW });

const db = await createTempDatabase('sbbench');
const store = await openPostgres({ url: db.url, poolSize: POOL });
const redis = connectRedis();
await redis.connect();
const prefix = uniquePrefix('sbbench-stall');
const routers = Array.from({ length: INSTANCES }, () => new RedisRouter(redis, { prefix, hashTag: 'sb', snapshot: () => store.routingSnapshot() }));
const bus = new MemoryBus();
const ctxs = routers.map((r) => new ServiceContext(store, r, bus));
await routers[0].rebuild(await store.routingSnapshot());
const convs: string[][] = [];
for (let i = 0; i < INSTANCES; i++) {
  convs.push([]);
  for (let k = 0; k < PER; k++) convs[i].push((await store.createConversation((await store.createCustomer(user('c'), 1)).profile.id, Date.now())).id);
}
const t0 = performance.now();
await Promise.all(ctxs.map((ctx, i) => Promise.all(convs[i].map((id) => enqueueConversation(ctx, id)))));
const ms = performance.now() - t0;
const queue = await routers[0].queue();
let outOfOrder = 0;
for (let i = 1; i < queue.length; i++) if (queue[i].queueSeq < queue[i - 1].queueSeq) outOfOrder++;
console.log(`${INSTANCES} instances x ${PER} enqueues, pool ${POOL}: ${ms.toFixed(0)} ms, ${((ms * 1000) / (INSTANCES * PER)).toFixed(0)} us/enqueue; queued ${queue.length}, out of queue_seq order ${outOfOrder}`);

// A message send while one instance's router call stalls and the others enqueue behind it.
const chatCustomer = await store.createCustomer(user('c'), 1);
const chat = await store.createConversation(chatCustomer.profile.id, Date.now());
const real = routers[0].enqueueAndDispatch.bind(routers[0]);
let release!: () => void;
const stalled = new Promise<void>((r) => (release = r));
routers[0].enqueueAndDispatch = async (e) => (await stalled, real(e));
ctxs[0].routerCallTimeoutMs = 0;
const x = (await store.createConversation((await store.createCustomer(user('c'), 1)).profile.id, Date.now())).id;
const others = [];
for (let i = 1; i < INSTANCES; i++) others.push((await store.createConversation((await store.createCustomer(user('c'), 1)).profile.id, Date.now())).id);
const stalledEnqueue = enqueueConversation(ctxs[0], x);
await new Promise((r) => setTimeout(r, 50));
const waiting = others.map((id, i) => enqueueConversation(ctxs[i + 1], id));
await new Promise((r) => setTimeout(r, 50));
const t1 = performance.now();
const timer = setTimeout(release, STALL_MS);
await sendMessage(ctxs[INSTANCES - 1], { conversationId: chat.id, authorId: chatCustomer.user.id, username: chatCustomer.user.username, text: 'hi', clientId: null });
console.log(`message send while a router call stalls for ${STALL_MS} ms with ${INSTANCES - 1} enqueues behind it: ${(performance.now() - t1).toFixed(0)} ms`);
clearTimeout(timer);
release();
await stalledEnqueue;
await Promise.all(waiting);
await routers[0].destroy();
redis.disconnect();
await store.close();
await db.drop();
