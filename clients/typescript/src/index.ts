/**
 * The Bulwark REST API from TypeScript: openapi-fetch over the types that
 * openapi-typescript generates from the gateway's /v1/openapi.json, plus
 * what every caller needs around it: errors as typed RFC 9457 problems,
 * iteration over paged lists (nextPageToken), and the rate limit the
 * gateway advertises (RateLimit, RateLimit-Policy).
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';

import type { components, paths } from './generated/schema.js';

export type { components, operations, paths } from './generated/schema.js';

/** A problem+json body: `reason` is stable, `errors` names invalid fields. */
export type Problem = components['schemas']['Problem'];

/** One invalid field of a problem. */
export type FieldError = NonNullable<Problem['errors']>[number];

/** The typed openapi-fetch client of the whole API. */
export type BulwarkApi = Client<paths>;

export interface BulwarkClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The gateway, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** A tenant API key (bwk_...), an OIDC access token, or the operator token. */
  token?: string;
}

/**
 * An error reply of the API. `problem` is the typed body; `status`, `reason`
 * and `errors` are repeated for convenience; `retryAfter` is the seconds of
 * a Retry-After header (429), when there was one.
 */
export class BulwarkProblem extends Error {
  readonly status: number;
  readonly reason: string;
  readonly code: string;
  readonly errors: FieldError[];
  readonly requestId: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    readonly problem: Problem,
    readonly response: Response,
  ) {
    super(`${problem.status} ${problem.reason}: ${problem.detail ?? problem.title}`);
    this.name = 'BulwarkProblem';
    this.status = problem.status;
    this.reason = problem.reason;
    this.code = problem.code;
    this.errors = problem.errors ?? [];
    this.requestId = problem.requestId;
    const retry = response.headers.get('retry-after');
    this.retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  }

  /** The message of the error naming field, if any. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

/** Whether e is a problem reply, optionally of this HTTP status. */
export function isProblem(e: unknown, status?: number): e is BulwarkProblem {
  return e instanceof BulwarkProblem && (status === undefined || e.status === status);
}

function problemOf(error: unknown, response: Response): BulwarkProblem {
  const body = error as Partial<Problem> | undefined;
  if (body && typeof body === 'object' && typeof body.status === 'number' && body.reason)
    return new BulwarkProblem(body as Problem, response);
  // Not problem+json (a proxy's page, say): keep what there is.
  return new BulwarkProblem(
    {
      type: 'about:blank',
      title: response.statusText,
      status: response.status,
      code: 'UNKNOWN',
      reason: 'NOT_A_PROBLEM_REPLY',
      detail: typeof error === 'string' ? error : undefined,
    },
    response,
  );
}

/**
 * The data of an openapi-fetch call, or a thrown BulwarkProblem:
 *   const entity = await unwrap(api.GET('/v1/entities/{id}', { params: { path: { id } } }));
 */
export async function unwrap<D>(
  call: Promise<{ data?: D; error?: unknown; response: Response }>,
): Promise<D> {
  const { data, error, response } = await call;
  if (!response.ok) throw problemOf(error, response);
  return data as D;
}

/** The rate limit a reply advertises (draft-ietf-httpapi-ratelimit-headers-11). */
export interface RateLimit {
  /** Requests that may be made now. */
  remaining: number;
  /** Seconds until one more may be made. */
  resetSeconds: number;
  /** No more than `quota` requests in any `windowSeconds` seconds is never refused. */
  quota?: number;
  windowSeconds?: number;
}

function sfParams(value: string): Map<string, string> {
  // One list member: "name";k=v;k=v (this API sends one policy).
  const params = new Map<string, string>();
  for (const part of value.split(',')[0]!.split(';').slice(1)) {
    const [k, v] = part.trim().split('=');
    if (k && v !== undefined) params.set(k, v);
  }
  return params;
}

/** The RateLimit fields of a response, or undefined when it has none. */
export function rateLimit(response: Response): RateLimit | undefined {
  const current = response.headers.get('ratelimit');
  if (current === null) return undefined;
  const now = sfParams(current);
  const policy = sfParams(response.headers.get('ratelimit-policy') ?? '');
  const remaining = Number(now.get('r'));
  const resetSeconds = Number(now.get('t'));
  if (!Number.isFinite(remaining) || !Number.isFinite(resetSeconds)) return undefined;
  const out: RateLimit = { remaining, resetSeconds };
  if (policy.has('q')) out.quota = Number(policy.get('q'));
  if (policy.has('w')) out.windowSeconds = Number(policy.get('w'));
  return out;
}

/** Paths whose GET answers a page: a reply with nextPageToken. */
export type ListPath = {
  [P in keyof paths]: paths[P] extends {
    get: { responses: { 200: { content: { 'application/json': infer R } } } };
  }
    ? R extends { nextPageToken?: string }
      ? P
      : never
    : never;
}[keyof paths];

/** The reply of one page of a list. */
export type Page<P extends ListPath> = paths[P] extends {
  get: { responses: { 200: { content: { 'application/json': infer R } } } };
}
  ? R
  : never;

/** The fields of a page that hold its items. */
export type ItemsKey<P extends ListPath> = {
  [K in keyof Page<P>]-?: NonNullable<Page<P>[K]> extends readonly unknown[] ? K : never;
}[keyof Page<P>];

/** One item of a list. */
export type Item<P extends ListPath, K extends ItemsKey<P>> =
  NonNullable<Page<P>[K]> extends readonly (infer T)[] ? T : never;

/** The query and path parameters of a list's GET, pageToken aside. */
export type ListParams<P extends ListPath> = paths[P] extends {
  get: { parameters: infer Q };
}
  ? Q
  : never;

export interface BulwarkClient {
  /** The typed openapi-fetch client: api.GET('/v1/entities'), api.POST(...). */
  api: BulwarkApi;
  /**
   * Every page of a list, following nextPageToken until it is empty:
   *   for await (const page of client.pages('/v1/incidents', { query: { pageSize: 100 } }))
   */
  pages<P extends ListPath>(path: P, params?: ListParams<P>): AsyncGenerator<Page<P>>;
  /**
   * Every item of a list, page after page:
   *   for await (const incident of client.list('/v1/incidents', 'incidents')) ...
   */
  list<P extends ListPath, K extends ItemsKey<P>>(
    path: P,
    items: K,
    params?: ListParams<P>,
  ): AsyncGenerator<Item<P, K>>;
}

/** A client of the gateway at baseUrl, authenticated with token. */
export function createBulwarkClient(options: BulwarkClientOptions): BulwarkClient {
  const { token, headers, ...rest } = options;
  const api = createClient<paths>({
    ...rest,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });

  async function* pages<P extends ListPath>(path: P, params?: ListParams<P>) {
    const base = (params ?? {}) as { query?: Record<string, unknown>; path?: unknown };
    let pageToken: string | undefined;
    do {
      const query = { ...base.query, ...(pageToken ? { pageToken } : {}) };
      // The public signature is typed per path; openapi-fetch cannot check a
      // path that is a type parameter, so the call itself is not.
      const page = (await unwrap(
        (api.GET as (p: string, init: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>)(
          path as string,
          { params: { ...base, query } },
        ),
      )) as Page<P> & { nextPageToken?: string };
      yield page;
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
  }

  async function* list<P extends ListPath, K extends ItemsKey<P>>(
    path: P,
    items: K,
    params?: ListParams<P>,
  ) {
    for await (const page of pages(path, params))
      for (const item of (page[items] ?? []) as Item<P, K>[]) yield item;
  }

  return { api, pages, list };
}
