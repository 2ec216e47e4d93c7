// UUIDv7: the RFC 9562 layout, the millisecond timestamp in front, strictly increasing order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUuid, uuidv7 } from '../../src/store/uuid.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('has the version 7 and RFC variant bits, in lower-case canonical form', () => {
    for (let i = 0; i < 1000; i++) assert.match(uuidv7(), V7);
  });

  it('carries the given millisecond time in its first 48 bits', () => {
    const at = Date.now() + 10_000_000;
    const id = uuidv7(at);
    assert.equal(msOf(id), at);
  });

  it('is strictly increasing within one millisecond and across many', () => {
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(uuidv7());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('stays increasing when one millisecond holds more ids than the counter can count', () => {
    const at = Date.now() + 20_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(at));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i]);
    for (const id of ids) assert.match(id, V7);
    assert.ok(msOf(ids[ids.length - 1]) > at, 'the overflow borrows the next millisecond');
  });

  it('stays increasing when the clock goes backwards', () => {
    const at = Date.now() + 30_000_000;
    const a = uuidv7(at);
    const b = uuidv7(at - 5000);
    const c = uuidv7();
    assert.ok(a < b && b < c);
  });

  it('is accepted by isUuid, which refuses anything else', () => {
    assert.equal(isUuid(uuidv7()), true);
    assert.equal(isUuid('00000000-0000-0000-0000-000000000000'), true);
    assert.equal(isUuid('6F9619FF-8B86-D011-B42D-00C04FC964FF'), true);
    for (const bad of ['', 'abc', '123', '6f9619ff8b86d011b42d00c04fc964ff', '6f9619ff-8b86-d011-b42d-00c04fc964f', '6f9619ff-8b86-d011-b42d-00c04fc964ffa', 'g f9619ff-8b86-d011-b42d-00c04fc964ff', ' 6f9619ff-8b86-d011-b42d-00c04fc964ff', '6f9619ff-8b86-d011-b42d-00c04fc964ff\n']) {
      assert.equal(isUuid(bad), false, JSON.stringify(bad));
    }
  });
});
