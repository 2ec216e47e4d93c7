// Client frame parsing (a table of type -> validator) and server frame builders.
import type { Message } from '../domain/types.ts';

export const BUSY_TEXT = 'Customer Representatives are busy for now. Please wait for some time.';
export const MAX_TEXT = 4000;
export const MAX_CLIENT_ID = 64;

export type ErrorCode = 'bad_json' | 'bad_frame' | 'empty_message' | 'too_long' | 'rate_limited' | 'not_allowed' | 'closed';

export type ClientFrame =
  | { type: 'message'; text: string; clientId: string | null; closeChat: boolean }
  | { type: 'typing'; typing: boolean }
  | { type: 'read'; seq: number }
  | { type: 'close' }
  | { type: 'ping' };

export class FrameError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail: string,
  ) {
    super(detail);
  }
}

function checkText(text: string): string {
  if (text.includes('\u0000')) throw new FrameError('bad_frame', 'Message text may not contain NUL characters.');
  if (text.trim().length === 0) throw new FrameError('empty_message', 'Message text is empty.');
  if ([...text].length > MAX_TEXT) throw new FrameError('too_long', `Message text is longer than ${MAX_TEXT} characters.`);
  return text;
}

type Parser = (f: Record<string, unknown>) => ClientFrame;

const PARSERS: Record<string, Parser> = {
  message: (f) => {
    const text = f.text ?? f.message;
    if (typeof text !== 'string') throw new FrameError('bad_frame', '"text" must be a string.');
    let clientId: string | null = null;
    if (f.client_id !== undefined && f.client_id !== null) {
      if (typeof f.client_id !== 'string' || f.client_id.length === 0 || [...f.client_id].length > MAX_CLIENT_ID || f.client_id.includes('\u0000')) {
        throw new FrameError('bad_frame', `"client_id" must be a string of 1 to ${MAX_CLIENT_ID} characters.`);
      }
      clientId = f.client_id;
    }
    return { type: 'message', text: checkText(text), clientId, closeChat: false };
  },
  typing: (f) => {
    if (typeof f.typing !== 'boolean') throw new FrameError('bad_frame', '"typing" must be true or false.');
    return { type: 'typing', typing: f.typing };
  },
  read: (f) => {
    if (typeof f.seq !== 'number' || !Number.isSafeInteger(f.seq) || f.seq < 0) throw new FrameError('bad_frame', '"seq" must be a non-negative integer.');
    return { type: 'read', seq: f.seq };
  },
  close: () => ({ type: 'close' }),
  ping: () => ({ type: 'ping' }),
};

/** The original's frames carry no type: {"message": "..."} and {"message": "...", "close_chat": true}. */
function parseOriginal(f: Record<string, unknown>): ClientFrame {
  if (f.close_chat === true) return { type: 'message', text: String(f.message), clientId: null, closeChat: true };
  return { ...(PARSERS.message(f) as Extract<ClientFrame, { type: 'message' }>), closeChat: false };
}

export function parseClientFrame(raw: string): ClientFrame {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw new FrameError('bad_json', 'The frame is not valid JSON.');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new FrameError('bad_frame', 'A frame must be a JSON object.');
  const f = data as Record<string, unknown>;
  const parser = typeof f.type === 'string' && Object.hasOwn(PARSERS, f.type) ? PARSERS[f.type] : undefined;
  if (parser) return parser(f);
  if (typeof f.message === 'string') return parseOriginal(f);
  throw new FrameError('bad_frame', 'Unknown frame: expected a known "type" or a string "message".');
}

export const errorFrame = (code: ErrorCode, detail: string) => JSON.stringify({ type: 'error', code, detail });

const messageFrames = new WeakMap<Message, string>();

/** One serialization per broadcast: every socket of the conversation gets the same string. */
export function messageFrame(m: Message): string {
  let frame = messageFrames.get(m);
  if (frame === undefined) {
    const body: Record<string, unknown> = {
      type: 'message',
      message: m.text,
      id: m.id,
      seq: m.seq,
      conversation: m.conversationId,
      user: m.username,
      timestamp: new Date(m.timestamp).toISOString(),
    };
    if (m.clientId !== null) body.client_id = m.clientId;
    frame = JSON.stringify(body);
    messageFrames.set(m, frame);
  }
  return frame;
}

/** `version` is the conversation's version when it was queued: a client (and the server) can order it against `assigned`. */
export const queuedFrame = (position: number, estimatedWaitS: number, version?: number) =>
  JSON.stringify({ type: 'queued', message: BUSY_TEXT, position, estimated_wait_s: estimatedWaitS, ...(version ? { version } : {}) });
