// Offset paging for list routes: the Link header (RFC 8288) that says where the next and previous pages are.
import type { FastifyRequest } from 'fastify';

/** rel="next" while entries remain past this page, rel="prev" after the first page, and rel="first". */
export function pageLinks(req: FastifyRequest, limit: number, offset: number, total: number): string {
  const base = new URL(req.url, 'http://placeholder');
  const link = (o: number, rel: string) => {
    base.searchParams.set('limit', String(limit));
    base.searchParams.set('offset', String(o));
    return `<${base.pathname}${base.search}>; rel="${rel}"`;
  };
  const parts: string[] = [];
  if (offset + limit < total) parts.push(link(offset + limit, 'next'));
  if (offset > 0) parts.push(link(Math.max(0, offset - limit), 'prev'));
  parts.push(link(0, 'first'));
  return parts.join(', ');
}

/** The Link of an unpaged list cut at `max`: where the rest starts. */
export function restLink(req: FastifyRequest, max: number, pageSize: number): string {
  const next = new URL(req.url, 'http://placeholder');
  next.searchParams.set('limit', String(pageSize));
  next.searchParams.set('offset', String(max));
  return `<${next.pathname}${next.search}>; rel="next"`;
}
