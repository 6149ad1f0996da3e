/** What of a URL a log may show: scheme, host, port and path; never the query or user info, where tokens ride. */
export function urlForLogs(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search !== '' ? '?…' : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}
