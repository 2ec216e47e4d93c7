// Socket close codes: the standard ones DESIGN names, and the 44xx codes that mirror HTTP statuses.
export const CLOSE = {
  normal: 1000,
  policy: 1008,
  restarting: 1012,
  tooSlow: 1013,
  badToken: 4401,
  forbidden: 4403,
  notFound: 4404,
  closed: 4409,
} as const;
