// Client frames: the original's untyped frames, typed frames, and a clear error code for everything else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameError, MAX_CLIENT_ID, MAX_TEXT, parseClientFrame, type ErrorCode } from '../../src/realtime/frames.ts';

const parse = (v: unknown) => parseClientFrame(typeof v === 'string' ? v : JSON.stringify(v));

function fails(raw: unknown, code: ErrorCode): void {
  assert.throws(
    () => parse(raw),
    (err: unknown) => {
      assert.ok(err instanceof FrameError, `expected a FrameError, got ${String(err)}`);
      assert.equal(err.code, code, `${JSON.stringify(raw)}: ${err.message}`);
      assert.ok(err.message.length > 0);
      return true;
    },
  );
}

describe('parseClientFrame', () => {
  describe("the original's frames", () => {
    it('reads {"message"} as a chat message', () => {
      assert.deepEqual(parse({ message: 'hello' }), { type: 'message', text: 'hello', clientId: null, closeChat: false });
    });

    it('reads {"message", "close_chat": true} as a close', () => {
      assert.deepEqual(parse({ message: 'bye', close_chat: true }), { type: 'message', text: 'bye', clientId: null, closeChat: true });
    });

    it('reads close_chat false as a plain message', () => {
      assert.deepEqual(parse({ message: 'hi', close_chat: false }), { type: 'message', text: 'hi', clientId: null, closeChat: false });
    });

    it('checks the text of a plain original message', () => {
      fails({ message: '' }, 'empty_message');
      fails({ message: '   \n\t' }, 'empty_message');
      fails({ message: 'x'.repeat(MAX_TEXT + 1) }, 'too_long');
      fails({ message: 'a\u0000b' }, 'bad_frame');
    });

    it('carries a client_id on an original message', () => {
      assert.deepEqual(parse({ message: 'hi', client_id: 'k1' }), { type: 'message', text: 'hi', clientId: 'k1', closeChat: false });
    });
  });

  describe('typed frames', () => {
    it('reads a typed message, with and without client_id', () => {
      assert.deepEqual(parse({ type: 'message', text: 'hi', client_id: 'abc' }), { type: 'message', text: 'hi', clientId: 'abc', closeChat: false });
      assert.deepEqual(parse({ type: 'message', text: 'hi' }), { type: 'message', text: 'hi', clientId: null, closeChat: false });
      assert.deepEqual(parse({ type: 'message', text: 'hi', client_id: null }), { type: 'message', text: 'hi', clientId: null, closeChat: false });
      assert.deepEqual(parse({ type: 'message', message: 'legacy key' }), { type: 'message', text: 'legacy key', clientId: null, closeChat: false });
    });

    it('never reads close_chat from a typed message', () => {
      assert.equal((parse({ type: 'message', text: 'hi', close_chat: true }) as { closeChat: boolean }).closeChat, false);
    });

    it('reads typing, read, close and ping', () => {
      assert.deepEqual(parse({ type: 'typing', typing: true }), { type: 'typing', typing: true });
      assert.deepEqual(parse({ type: 'typing', typing: false }), { type: 'typing', typing: false });
      assert.deepEqual(parse({ type: 'read', seq: 0 }), { type: 'read', seq: 0 });
      assert.deepEqual(parse({ type: 'read', seq: 42 }), { type: 'read', seq: 42 });
      assert.deepEqual(parse({ type: 'close' }), { type: 'close' });
      assert.deepEqual(parse({ type: 'ping' }), { type: 'ping' });
    });

    it('keeps text exactly as sent (whitespace and unicode)', () => {
      const text = '  héllo 👋\nworld  ';
      assert.equal((parse({ type: 'message', text }) as { text: string }).text, text);
    });
  });

  describe('errors', () => {
    it('answers bad_json for anything that is not JSON', () => {
      for (const raw of ['', '{', 'not json', '{"message": "x"', "{'message': 'x'}", '\u0000']) fails(raw, 'bad_json');
    });

    it('answers bad_frame for JSON that is not an object', () => {
      for (const raw of ['[]', '[{"message":"x"}]', 'null', '1', '"message"', 'true']) fails(raw, 'bad_frame');
    });

    it('answers bad_frame for an unknown type with no string message', () => {
      fails({}, 'bad_frame');
      fails({ type: 'shout', text: 'hi' }, 'bad_frame');
      fails({ type: 'constructor' }, 'bad_frame');
      fails({ type: '__proto__' }, 'bad_frame');
      fails({ type: 'toString' }, 'bad_frame');
      fails({ type: 42 }, 'bad_frame');
      fails({ message: 42 }, 'bad_frame');
      fails({ message: null }, 'bad_frame');
      fails({ message: ['a'] }, 'bad_frame');
      fails({ message: { text: 'a' } }, 'bad_frame');
      fails({ message: 1, close_chat: true }, 'bad_frame');
    });

    it('answers bad_frame for wrong field types in typed frames', () => {
      fails({ type: 'message' }, 'bad_frame');
      fails({ type: 'message', text: 5 }, 'bad_frame');
      fails({ type: 'message', text: null }, 'bad_frame');
      fails({ type: 'message', text: 'hi', client_id: 7 }, 'bad_frame');
      fails({ type: 'message', text: 'hi', client_id: '' }, 'bad_frame');
      fails({ type: 'typing' }, 'bad_frame');
      fails({ type: 'typing', typing: 'yes' }, 'bad_frame');
      fails({ type: 'typing', typing: 1 }, 'bad_frame');
      fails({ type: 'read' }, 'bad_frame');
      fails({ type: 'read', seq: '3' }, 'bad_frame');
      fails({ type: 'read', seq: -1 }, 'bad_frame');
      fails({ type: 'read', seq: 1.5 }, 'bad_frame');
      fails('{"type":"read","seq":1e400}', 'bad_frame');
    });

    it('answers empty_message for empty or blank text', () => {
      fails({ type: 'message', text: '' }, 'empty_message');
      fails({ type: 'message', text: ' \n \t ' }, 'empty_message');
    });

    it('allows exactly 4000 characters and answers too_long at 4001', () => {
      const ok = parse({ type: 'message', text: 'a'.repeat(MAX_TEXT) }) as { text: string };
      assert.equal(ok.text.length, 4000);
      fails({ type: 'message', text: 'a'.repeat(MAX_TEXT + 1) }, 'too_long');
    });

    it('counts characters, not UTF-16 units', () => {
      const emoji = '😀'.repeat(MAX_TEXT);
      assert.equal((parse({ type: 'message', text: emoji }) as { text: string }).text, emoji);
      fails({ type: 'message', text: '😀'.repeat(MAX_TEXT + 1) }, 'too_long');
    });

    it('allows a client_id of 64 characters and refuses 65', () => {
      const id = 'k'.repeat(MAX_CLIENT_ID);
      assert.equal((parse({ type: 'message', text: 'hi', client_id: id }) as { clientId: string }).clientId, id);
      fails({ type: 'message', text: 'hi', client_id: 'k'.repeat(MAX_CLIENT_ID + 1) }, 'bad_frame');
      fails({ message: 'hi', client_id: 'k'.repeat(MAX_CLIENT_ID + 1) }, 'bad_frame');
    });

    it('refuses NUL characters in text and in client_id', () => {
      fails({ type: 'message', text: 'bad\u0000text' }, 'bad_frame');
      fails('{"type":"message","text":"nul \\u0000 escaped"}', 'bad_frame');
      fails({ type: 'message', text: 'hi', client_id: 'id\u0000' }, 'bad_frame');
    });
  });
});
