// The Redis Router: routing state shared by every instance, each transition one Lua script called by SHA.
// Every key is `${prefix}:{${hashTag}}:<name>`, so one hash tag keeps them in one Cluster slot.
import type { Cluster, Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepSlot } from '../../domain/policy.ts';
import type { Conversation } from '../../domain/types.ts';
import type { RoutingSnapshot } from '../../domain/types.ts';
import type { Admission, Proposal, QueueEntry, QueuePage, QueuePlace, QueueStats, RejectFix, Router, RouterView, TransferResult } from '../port.ts';
import { routingScripts } from './scripts.ts';

export interface RedisRouterOptions {
  /** Key prefix (REDIS_PREFIX); default `sb`. */
  prefix?: string;
  /** The hash tag shared by every key; default `routing`. */
  hashTag?: string;
  /** A consistent store snapshot, read when Redis has lost the routing state (DESIGN R4). */
  snapshot?: () => Promise<RoutingSnapshot>;
  /** Called after this instance loaded a snapshot because the state was missing, with the new epoch. */
  onRebuild?: (epoch: string) => void;
  /** How long one rebuilder holds the rebuild lock at most; default 10 s. */
  rebuildLockMs?: number;
  /** How long a caller that lost the rebuild lock waits before it retries; default 20 ms. */
  rebuildPollMs?: number;
}

/** The keys, by the name the scripts' headers use. */
const KEY_SUFFIX = {
  epoch: 'epoch',
  queue: 'queue',
  queuedAt: 'queued-at',
  entries: 'entries',
  held: 'held',
  versions: 'versions',
  reps: 'reps',
  eligible: 'eligible',
  clock: 'clock',
  repHeld: 'rep-held',
  seq: 'seq',
  rebuildLock: 'rebuild-lock',
} as const;
type KeyName = keyof typeof KEY_SUFFIX;

const STATE: KeyName[] = ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'eligible', 'clock', 'repHeld'];
const DISPATCH: KeyName[] = ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'reps', 'eligible', 'clock', 'repHeld'];

/** The KEYS of each script, in order; checked against the number in its file name. */
const SCRIPT_KEYS: Record<string, KeyName[]> = {
  admit: ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'seq'],
  enqueueAndDispatch: STATE,
  confirm: STATE,
  unadmit: ['epoch', 'queue', 'queuedAt', 'entries'],
  releaseAndDispatch: STATE,
  remove: ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'eligible', 'repHeld'],
  transfer: DISPATCH,
  requeue: STATE,
  requeueRep: STATE,
  setRep: DISPATCH,
  reject: STATE,
  rebuild: [...STATE, 'seq'],
  queue: ['epoch', 'queue', 'entries'],
  queuedAfter: ['epoch', 'queue', 'entries'],
  stats: ['epoch', 'queue', 'queuedAt'],
  inspect: ['epoch', 'queue', 'held', 'reps', 'versions', 'entries'],
  position: ['epoch', 'queue', 'entries'],
  positions: ['epoch', 'queue'],
  drop: [...STATE, 'seq', 'rebuildLock'],
  releaseLock: ['rebuildLock'],
};

type Command = (...args: string[]) => Promise<unknown>;
type RawProposal = [conversationId: string, repId: string, packedEntry: string];

const COMMAND_PREFIX = 'switchboardRouting_';
const defined = new WeakSet<Redis | Cluster>();

function defineCommands(redis: Redis | Cluster): void {
  if (defined.has(redis)) return;
  const scripts = routingScripts();
  for (const [name, keys] of Object.entries(SCRIPT_KEYS)) {
    const script = scripts.get(name);
    if (!script) throw new Error(`Routing script ${name}-${keys.length}.lua is missing.`);
    if (script.numberOfKeys !== keys.length) {
      throw new Error(`Routing script ${name}-${script.numberOfKeys}.lua takes ${script.numberOfKeys} keys; the adapter passes ${keys.length}.`);
    }
    redis.defineCommand(COMMAND_PREFIX + name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
  defined.add(redis);
}

export function isNoState(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSTATE');
}

const num = (n: number): string => String(n);
const entryArgs = (e: QueueEntry): string[] => [e.conversationId, num(e.queueSeq), num(e.customerId), num(e.queuedAt), num(e.version)];
const repArgs = (r: RepSlot): string[] => [num(r.repId), r.status, num(r.maxCapacity), num(r.load), r.lastAssignedAt === null ? '' : num(r.lastAssignedAt)];

function parseEntry(conversationId: string, packed: string): QueueEntry {
  const [queueSeq, customerId, queuedAt, version] = packed.split('|');
  return { conversationId, queueSeq: Number(queueSeq), customerId: Number(customerId), queuedAt: Number(queuedAt), version: Number(version) };
}

function parseProposals(reply: unknown): Proposal[] {
  return (reply as RawProposal[]).map(([conversationId, repId, packed]) => ({ ...parseEntry(conversationId, packed), repId: Number(repId) }));
}

/** A conversation as a queue entry: the same defaults as the memory adapter. */
function packedOf(c: Conversation): string {
  return [c.queueSeq ?? 0, c.customerId, c.queuedAt ?? c.createdAt, c.version].map(num).join('|');
}

function snapshotArgs(s: RoutingSnapshot): string[] {
  const reps = s.reps.map((r) => `${r.id}|${r.status}|${r.maxCapacity}|${r.lastAssignedAt ?? ''}`);
  const held = s.assigned.filter((c) => c.repId !== null).map((c) => `${c.repId}|${packedOf(c)}|${c.id}`);
  const queue = s.queue.map((c) => `${packedOf(c)}|${c.id}`);
  return [num(reps.length), num(held.length), num(s.queueSeqFloor), ...reps, ...held, ...queue];
}

/**
 * Every script first checks the epoch key: when it is gone (flush, restart), the script changes
 * nothing and answers NOSTATE; one instance then loads a store snapshot under a lock and every
 * caller retries. A restart that reloads an old RDB/AOF file brings an old epoch back with old
 * state, which no script can tell apart: the routing Redis should run without persistence.
 */
export class RedisRouter implements Router {
  private readonly base: string;
  private readonly lockMs: number;
  private readonly pollMs: number;
  private recovering: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly options: RedisRouterOptions = {},
  ) {
    this.base = `${options.prefix ?? 'sb'}:{${options.hashTag ?? 'routing'}}:`;
    this.lockMs = options.rebuildLockMs ?? 10_000;
    this.pollMs = options.rebuildPollMs ?? 20;
    defineCommands(redis);
  }

  /** The full name of one of this router's keys (for operators and tests). */
  key(name: KeyName): string {
    return this.base + KEY_SUFFIX[name];
  }

  private call(name: string, args: string[]): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, Command>)[COMMAND_PREFIX + name];
    return command.call(this.redis, ...SCRIPT_KEYS[name].map((k) => this.key(k)), ...args);
  }

  /** Runs a script; when Redis lost the state, rebuilds it from the store and runs the script again. */
  private async run(name: string, args: string[]): Promise<unknown> {
    const deadline = Date.now() + 3 * this.lockMs;
    for (;;) {
      try {
        return await this.call(name, args);
      } catch (err) {
        if (!isNoState(err)) throw err;
        if (Date.now() > deadline) throw new Error('The routing state in Redis is missing and was not rebuilt in time.', { cause: err });
        await this.recover();
      }
    }
  }

  /** One recovery at a time per instance; across instances the rebuild lock lets one load the snapshot. */
  private recover(): Promise<void> {
    this.recovering ??= this.recoverOnce().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async recoverOnce(): Promise<void> {
    const source = this.options.snapshot;
    if (!source) throw new Error('The routing state in Redis is missing (NOSTATE) and the router has no snapshot source to rebuild it from.');
    const token = randomUUID();
    const locked = await this.redis.set(this.key('rebuildLock'), token, 'PX', this.lockMs, 'NX');
    if (locked !== 'OK') {
      await sleep(this.pollMs);
      return;
    }
    try {
      // Another instance may have rebuilt between our NOSTATE and our lock.
      if ((await this.redis.exists(this.key('epoch'))) === 1) return;
      const snapshot = await source();
      const epoch = newEpoch();
      if ((await this.call('rebuild', ['missing', epoch, ...snapshotArgs(snapshot)])) === 1) this.options.onRebuild?.(epoch);
    } finally {
      await this.call('releaseLock', [token]).catch(() => undefined);
    }
  }

  async rebuild(snapshot: RoutingSnapshot): Promise<void> {
    await this.call('rebuild', ['force', newEpoch(), ...snapshotArgs(snapshot)]);
  }

  /**
   * The epoch is the fence every script checks: with the rebuild lock held, the epoch is deleted first, so
   * every operation of every instance answers NOSTATE and its caller waits on the lock; only then is the
   * snapshot read, and it is loaded as a new epoch. An operation that finished before the fence has its store
   * side in the snapshot or still to come (then the store refuses what it contradicts, R1). A rebuilder that
   * dies after the fence leaves no state, which the next caller rebuilds once the lock expires.
   */
  async rebuildFrom(read: () => Promise<RoutingSnapshot>): Promise<void> {
    const token = randomUUID();
    const deadline = Date.now() + 3 * this.lockMs;
    while ((await this.redis.set(this.key('rebuildLock'), token, 'PX', this.lockMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error('The routing rebuild lock was not released in time.');
      await sleep(this.pollMs);
    }
    try {
      await this.redis.del(this.key('epoch'));
      const snapshot = await read();
      const epoch = newEpoch();
      if ((await this.call('rebuild', ['missing', epoch, ...snapshotArgs(snapshot)])) === 1) this.options.onRebuild?.(epoch);
    } finally {
      await this.call('releaseLock', [token]).catch(() => undefined);
    }
  }

  async admit(entry: Omit<QueueEntry, 'queueSeq'>): Promise<Admission> {
    const [queueSeq, position] = (await this.run('admit', [entry.conversationId, num(entry.customerId), num(entry.queuedAt), num(entry.version)])) as [number, number];
    return { queueSeq: Number(queueSeq), position: Number(position) };
  }

  async confirm(conversationId: string): Promise<{ present: boolean; proposals: Proposal[] }> {
    const [present, proposals] = (await this.run('confirm', [conversationId])) as [number, unknown];
    return { present: present === 1, proposals: parseProposals(proposals) };
  }

  async unadmit(conversationId: string, queueSeq?: number): Promise<boolean> {
    return (await this.run('unadmit', [conversationId, queueSeq === undefined ? '' : num(queueSeq)])) === 1;
  }

  async enqueueAndDispatch(entry: QueueEntry): Promise<Proposal[]> {
    return parseProposals(await this.run('enqueueAndDispatch', entryArgs(entry)));
  }

  async releaseAndDispatch(conversationId: string, repId: number): Promise<Proposal[]> {
    return parseProposals(await this.run('releaseAndDispatch', [conversationId, num(repId)]));
  }

  async remove(conversationId: string, final = false): Promise<void> {
    await this.run('remove', [conversationId, final ? '1' : '0']);
  }

  async transfer(conversationId: string, fromRepId: number, toRepId: number): Promise<TransferResult> {
    const [ok, proposals, refused] = (await this.run('transfer', [conversationId, num(fromRepId), num(toRepId)])) as [number, unknown, string?];
    if (ok === 1) return { ok: true, proposals: parseProposals(proposals) };
    return { ok: false, proposals: [], refused: refused === 'rep' ? 'rep' : 'conversation' };
  }

  async requeue(entry: QueueEntry, fromRepId: number, excludeRep?: number): Promise<Proposal[]> {
    return parseProposals(await this.run('requeue', [...entryArgs(entry), num(fromRepId), excludeRep === undefined ? '' : num(excludeRep)]));
  }

  async requeueRep(rep: RepSlot, entries: QueueEntry[]): Promise<Proposal[]> {
    return parseProposals(await this.run('requeueRep', [...repArgs(rep), ...entries.flatMap(entryArgs)]));
  }

  async setRep(rep: RepSlot): Promise<Proposal[]> {
    return parseProposals(await this.run('setRep', repArgs(rep)));
  }

  async reject(proposal: Proposal, fix: RejectFix): Promise<Proposal[]> {
    const rep = fix.rep ? ['1', ...repArgs(fix.rep)] : ['0', '', '', '', '', ''];
    const requeue = fix.requeue ? ['1', ...entryArgs(fix.requeue)] : ['0', '', '', '', '', ''];
    return parseProposals(await this.run('reject', [proposal.conversationId, num(proposal.repId), ...rep, ...requeue]));
  }

  async queue(page?: QueuePage): Promise<QueueEntry[]> {
    const flat = (await this.run('queue', page ? [num(page.offset), num(page.limit)] : [])) as string[];
    const entries: QueueEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) entries.push(parseEntry(flat[i], flat[i + 1]));
    return entries;
  }

  async queuedAfter(afterSeq: number, limit: number): Promise<QueueEntry[]> {
    const flat = (await this.run('queuedAfter', [num(afterSeq), num(limit)])) as string[];
    const entries: QueueEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) entries.push(parseEntry(flat[i], flat[i + 1]));
    return entries;
  }

  async stats(): Promise<QueueStats> {
    const [length, oldest] = (await this.run('stats', [])) as [number, string | null];
    return { length, oldestQueuedAt: oldest === null ? null : Number(oldest) };
  }

  async position(conversationId: string): Promise<number> {
    const [position] = (await this.run('position', [conversationId])) as [number, number];
    return position;
  }

  async positions(conversationIds: string[]): Promise<QueuePlace[]> {
    const places: QueuePlace[] = [];
    // Chunks keep one script call short: Redis runs nothing else while it runs.
    for (let from = 0; from < conversationIds.length; from += 500) {
      const flat = (await this.run('positions', conversationIds.slice(from, from + 500))) as Array<number | string>;
      for (let i = 0; i < flat.length; i += 2) {
        places.push({ position: Number(flat[i]), queueSeq: flat[i] === 0 ? null : Number(flat[i + 1]) });
      }
    }
    return places;
  }

  async inspect(): Promise<RouterView> {
    const [queued, held, reps, versions, pending] = (await this.run('inspect', [])) as [string[], string[], string[], number, string[]];
    const view: RouterView = { queued, pending, held: new Map(), reps: new Map(), versionsKept: Number(versions) };
    for (let i = 0; i < held.length; i += 2) view.held.set(held[i], Number(held[i + 1]));
    for (let i = 0; i < reps.length; i += 2) {
      const [status, max, load] = reps[i + 1].split('|');
      view.reps.set(Number(reps[i]), { status: status as RepSlot['status'], maxCapacity: Number(max), load: Number(load) });
    }
    return view;
  }

  /** Deletes every key of this router; the next operation rebuilds from the snapshot source. */
  async destroy(): Promise<void> {
    await this.call('drop', []);
  }

  /** The connection belongs to the caller, which may share it (bus, presence): it is not closed here. */
  async close(): Promise<void> {}
}

function newEpoch(): string {
  return `${Date.now()}-${randomUUID()}`;
}
