// The one spelling of a username that comparisons use: "Admin", "admin" and full-width "ａｄｍｉｎ" are one name.

/** NFKC, then case folding (upper then lower, so that "ß" and "SS" meet), then NFKC again as Unicode's NFKC_Casefold does. */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}
