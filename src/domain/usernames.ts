// The one spelling of a username that comparisons use: "Admin", "admin" and full-width "ａｄｍｉｎ" are one name.
// Registration, login, the per-username login limit, the store's unique key and the admin search all use
// canonicalUsername; registration also refuses names that mix scripts in a confusable way.

/** NFKC, then case folding (upper then lower, so that "ß" and "SS" meet), then NFKC again as Unicode's NFKC_Casefold does. */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * The scripts a name may mix beyond one script, after Unicode TS #39's "moderately restrictive" level: the
 * Japanese, Chinese and Korean sets (each with Latin), or Latin with one other script that is not Cyrillic
 * or Greek (their letters are the ones that look Latin: Cyrillic "а" in "аdmin", Greek "ο" in "rοot").
 */
const ALLOWED_SETS: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];
// Cherokee has Latin look-alikes too (Ꭺ, Ꮯ), though TS #39 leaves it out of its recommended scripts anyway.
const LOOKS_LATIN = new Set(['Cyrillic', 'Greek', 'Cherokee']);

// The scripts whose letters occur in usernames often enough to name; any other letter is "another script".
const NAMED_SCRIPTS = [
  'Latin', 'Cyrillic', 'Greek', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Bengali', 'Thai', 'Georgian',
  'Hangul', 'Hiragana', 'Katakana', 'Han', 'Bopomofo', 'Cherokee', 'Ethiopic', 'Tamil', 'Telugu', 'Gujarati',
  'Gurmukhi', 'Kannada', 'Malayalam', 'Sinhala', 'Khmer', 'Lao', 'Myanmar', 'Tibetan', 'Mongolian', 'Syriac', 'Thaana',
] as const;
const SCRIPT_RES = NAMED_SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);
// Characters of no one script (digits, "_", ".", "@", combining marks) go with any script, as in TS #39.
const SHARED = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

function scriptOf(ch: string): string | undefined {
  if (SHARED.test(ch)) return undefined;
  for (const [name, re] of SCRIPT_RES) if (re.test(ch)) return name;
  return 'Other';
}

/** The scripts of a name's characters (after NFKC, so full-width Latin is Latin), without Common and Inherited. */
export function scriptsOf(username: string): Set<string> {
  const scripts = new Set<string>();
  for (const ch of username.normalize('NFKC')) {
    const s = scriptOf(ch);
    if (s) scripts.add(s);
  }
  return scripts;
}

/**
 * Why a name mixes scripts in a confusable way, or null when it does not. Plain ASCII names are always
 * fine. A name wholly in one script is fine too, even one that looks Latin (all-Cyrillic "арр"): whole-script
 * confusables are out of scope (docs/architecture.md).
 */
export function confusableMix(username: string): string | null {
  const scripts = scriptsOf(username);
  if (scripts.size <= 1) return null;
  if (ALLOWED_SETS.some((set) => [...scripts].every((s) => set.has(s)))) return null;
  if (scripts.size === 2 && scripts.has('Latin') && ![...scripts].some((s) => LOOKS_LATIN.has(s) || s === 'Other')) return null;
  const names = [...scripts].sort().join(' and ');
  return `Usernames may not mix ${names} letters: some of them look alike. Use letters of one script.`;
}
