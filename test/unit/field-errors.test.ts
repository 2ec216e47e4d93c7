// Ajv's flat issue list becomes DRF's nested field errors, shaped like the request body.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrors } from '../../src/http/errors.ts';

const issue = (instancePath: string, keyword: string, params: Record<string, unknown> = {}, message?: string) => ({ instancePath, keyword, params, message });

describe('fieldErrors', () => {
  it('nests a missing property under its parent object', () => {
    assert.deepEqual(fieldErrors([issue('/user', 'required', { missingProperty: 'username' }, "must have required property 'username'")]), {
      user: { username: ['This field is required.'] },
    });
  });

  it('puts a missing top-level property at the top', () => {
    assert.deepEqual(fieldErrors([issue('', 'required', { missingProperty: 'password' })]), { password: ['This field is required.'] });
  });

  it('merges several issues into one tree, siblings side by side', () => {
    const out = fieldErrors([
      issue('/user', 'required', { missingProperty: 'username' }),
      issue('/user/email', 'format', { format: 'email' }, 'must match format "email"'),
      issue('', 'required', { missingProperty: 'password1' }),
      issue('/phone_number', 'type', { type: 'integer' }, 'must be integer'),
    ]);
    assert.deepEqual(out, {
      user: { username: ['This field is required.'], email: ['must match format "email"'] },
      password1: ['This field is required.'],
      phone_number: ['Expected integer.'],
    });
  });

  it('lists several messages for one field, without repeats', () => {
    const out = fieldErrors([
      issue('/max_capacity', 'minimum', { limit: 0 }, 'must be >= 0'),
      issue('/max_capacity', 'minimum', { limit: 0 }, 'must be >= 0'),
      issue('/max_capacity', 'multipleOf', { multipleOf: 1 }, 'must be multiple of 1'),
    ]);
    assert.deepEqual(out, { max_capacity: ['must be >= 0', 'must be multiple of 1'] });
  });

  it('says a blank string may not be blank', () => {
    assert.deepEqual(fieldErrors([issue('/user/username', 'minLength', { limit: 1 }, 'must NOT have fewer than 1 characters')]), {
      user: { username: ['This field may not be blank.'] },
    });
    assert.deepEqual(fieldErrors([issue('/password', 'minLength', { limit: 8 }, 'must NOT have fewer than 8 characters')]), {
      password: ['must NOT have fewer than 8 characters'],
    });
  });

  it('puts errors about the body itself under non_field_errors', () => {
    assert.deepEqual(fieldErrors([issue('', 'type', { type: 'object' }, 'must be object')]), { non_field_errors: ['Expected object.'] });
    assert.deepEqual(fieldErrors([issue('', 'additionalProperties', { additionalProperty: 'x' }, 'must NOT have additional properties')]), {
      non_field_errors: ['must NOT have additional properties'],
    });
  });

  it('nests deeply and decodes JSON pointer escapes', () => {
    assert.deepEqual(fieldErrors([issue('/a/b~1c/d~0e', 'required', { missingProperty: 'f' })]), { a: { 'b/c': { 'd~e': { f: ['This field is required.'] } } } });
  });

  it('falls back to a generic message', () => {
    assert.deepEqual(fieldErrors([issue('/score', 'maximum', { limit: 5 })]), { score: ['Invalid value.'] });
  });

  it('answers an empty object for no issues', () => {
    assert.deepEqual(fieldErrors([]), {});
  });
});
