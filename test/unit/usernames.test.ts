// The username rules in one place: the folded form every comparison uses, and the confusable-script check
// registration applies (Unicode TS #39, moderately restrictive).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalUsername, confusableMix, scriptsOf } from '../../src/domain/usernames.ts';

describe('canonicalUsername', () => {
  it('folds case and width, and compatibility forms, to one spelling', () => {
    for (const spelling of ['admin', 'Admin', 'ADMIN', 'ａｄｍｉｎ', 'ＡＤＭＩＮ', 'Ａｄｍｉｎ']) assert.equal(canonicalUsername(spelling), 'admin', spelling);
    assert.equal(canonicalUsername('Straße'), canonicalUsername('STRASSE'));
    assert.equal(canonicalUsername('ﬁle'), 'file', 'the ligature is two letters');
    assert.equal(canonicalUsername('José'), canonicalUsername('JOSE\u0301'), 'composed and decomposed accents meet');
    assert.equal(canonicalUsername('ΣΟΦΙΑ'), canonicalUsername('σοφια'));
  });

  it('keeps distinct names distinct', () => {
    assert.notEqual(canonicalUsername('admin'), canonicalUsername('admin1'));
    assert.notEqual(canonicalUsername('admin'), canonicalUsername('\u0430dmin'), 'a Cyrillic "а" is another letter (the script check refuses the mix)');
    assert.notEqual(canonicalUsername('jose'), canonicalUsername('josé'));
  });
});

describe('confusableMix', () => {
  it('accepts every plain ASCII name', () => {
    for (const name of ['admin', 'Admin_1', 'a.b+c-d_e@f', '12345', '_', 'UPPER.lower']) assert.equal(confusableMix(name), null, name);
  });

  it('accepts one script, and the CJK mixes and Latin with one other script that does not look Latin', () => {
    for (const name of ['Иван', 'Иван_1', 'σοφια', 'José', 'ａｄｍｉｎ', '山田たろう', '山田たろうtaro', '王小明wang', '김민수kim', 'ahmed_أحمد', 'dov_דב', 'x\u0303yz']) {
      assert.equal(confusableMix(name), null, name);
    }
  });

  it('refuses Latin mixed with Cyrillic, Greek or Cherokee, and Cyrillic with Greek, naming the scripts', () => {
    const cases: Array<[string, string]> = [
      ['\u0430dmin', 'Cyrillic and Latin'],
      ['r\u03bf\u03bft', 'Greek and Latin'],
      ['ivan_Иван', 'Cyrillic and Latin'],
      ['\u13aadmin', 'Cherokee and Latin'],
      ['σοφια_Иван', 'Cyrillic and Greek'],
      ['ａ\u0430', 'Cyrillic and Latin'],
    ];
    for (const [name, scripts] of cases) assert.match(confusableMix(name) ?? 'accepted', new RegExp(scripts), name);
  });

  it('refuses three scripts outside the CJK sets', () => {
    assert.notEqual(confusableMix('abc_أحمد_דב'), null);
    assert.notEqual(confusableMix('김민수たろう'), null, 'Hangul with Hiragana is no TS #39 set');
  });

  it('sees scripts after NFKC, ignoring digits, punctuation and combining marks', () => {
    assert.deepEqual([...scriptsOf('ａｂ_1.@')], ['Latin']);
    assert.deepEqual([...scriptsOf('12_.@+-')], []);
  });
});
