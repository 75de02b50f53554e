/**
 * EPCIS 2.0 query interface (REST binding, docs/epcis.md "Query"): GET /epcis/events and
 * /epcis/events/{eventID}, the discovery collections /epcis/eventTypes, /epcs, /bizSteps,
 * /bizLocations, /readPoints, /dispositions, and each one's /{value}/events. Answers are
 * EPCISQueryDocuments whose events carry `ta:proof` (query-document.ts), paged by `perPage`
 * (default 30, at most 500) and an opaque `nextPageToken`, with `Link: <…>; rel="next"` while there
 * is more. One statement per page on the query index, one lookup of the page's anchored copies.
 *
 *   queryRoutes(app, { store, mirror, treeCacheBytes?, publicUrl? })
 */
import type { Database } from "better-sqlite3";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createMirror } from "../mirror";
import { createAnchoredLookup } from "../../mirror/epcis/query-proofs";
import {
  createEpcisQueryStore,
  type EpcisQueryStore,
  type EventFilter,
  type StoredEvent,
  type ValueColumn,
} from "../../mirror/epcis/query";
import { normalEpc, normalCbv } from "../../mirror/epcis/event-rows";
import type { EpcisStore } from "../../mirror/epcis/store";
import type { MirrorStore } from "../../mirror/store";
import { epcisProblem } from "./problem";
import { namedQueryRoutes } from "./query-named";
import { collection, createProofs, eventsWithProofs, queryDocument, type ProofsOf } from "./query-document";
import {
  ALL_ROLES,
  PAGE_PARAMS,
  checkNames,
  checkText,
  fingerprintOf,
  locationForms,
  pageToken,
  parseEventQuery,
  perPage as perPageOf,
  readPageToken,
  singleValues,
  type RawQuery,
} from "./query-params";

export interface QueryDeps {
  /** The EPCIS store holding the query index (mirror/epcis/store.ts). */
  readonly store: EpcisStore;
  /** The mirror the proofs come from: the API's read-only handle or store. */
  readonly mirror: MirrorStore | Database;
  /** Byte budget of the proofs' tree cache (default 64 MiB). */
  readonly treeCacheBytes?: number;
  /** Absolute Link headers under this origin (e.g. https://id.example.com); relative without it. */
  readonly publicUrl?: string;
  /** Subscription destinations on loopback or private addresses are allowed (TRACE_WEBHOOK_ALLOW_PRIVATE=on). */
  readonly allowPrivateWebhooks?: boolean;
}

/** What the named query routes (query-named.ts) reuse of this plugin. */
export interface QueryContext {
  readonly index: EpcisQueryStore;
  readonly store: EpcisStore;
  readonly allowPrivateWebhooks: boolean;
  readonly publicUrl: string | undefined;
  /** One page of events for `fixed`, named `queryName`; `pageOnly`: the query string may hold only perPage and nextPageToken. */
  eventsPage(
    request: FastifyRequest,
    reply: FastifyReply,
    fixed: EventFilter | undefined,
    options?: { readonly queryName?: string; readonly pageOnly?: boolean },
  ): Promise<FastifyReply>;
}

/** The query name in the documents of ad-hoc queries (the REST binding's SimpleEventQuery). */
export const SIMPLE_EVENT_QUERY = "SimpleEventQuery";

const EVENT_TYPES = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"];

/** The discovery collections: their column in the index and how a path value becomes a filter. */
const RESOURCES: readonly {
  readonly path: string;
  readonly param: string;
  readonly column: ValueColumn;
  readonly filter: (value: string) => EventFilter;
}[] = [
  {
    path: "epcs",
    param: "epc",
    column: "epc",
    filter: (v) => ({ epcs: [{ roles: ALL_ROLES, values: [{ exact: normalEpc(v) }] }] }),
  },
  {
    path: "bizSteps",
    param: "bizStep",
    column: "biz_step",
    filter: (v) => ({ bizSteps: [normalCbv("bizStep", v)] }),
  },
  {
    path: "bizLocations",
    param: "bizLocation",
    column: "biz_location",
    filter: (v) => ({ bizLocations: locationForms(v) }),
  },
  { path: "readPoints", param: "readPoint", column: "read_point", filter: (v) => ({ readPoints: locationForms(v) }) },
  {
    path: "dispositions",
    param: "disposition",
    column: "disposition",
    filter: (v) => ({ dispositions: [normalCbv("disposition", v)] }),
  },
];

const PAGE_ONLY = new Set(PAGE_PARAMS);

/** Media types we answer with; the first one the client accepts is used. */
const JSON_TYPES = ["application/json", "application/ld+json"];

/** The JSON media type to answer with, or 406 when the Accept header allows none. */
export function acceptedType(accept: string | undefined): string {
  if (accept === undefined || accept.trim() === "") return JSON_TYPES[0]!;
  const ranges = accept.split(",").map((part) => {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    return { type, q: q === undefined ? 1 : Number(q.slice(2)) };
  });
  for (const media of JSON_TYPES) {
    const [major] = media.split("/");
    if (ranges.some((r) => r.q > 0 && (r.type === media || r.type === "*/*" || r.type === `${major}/*`))) return media;
  }
  throw epcisProblem(
    406,
    "NotAcceptableException",
    `cannot answer in ${accept.slice(0, 100)}; only JSON (application/json, application/ld+json)`,
  );
}

interface Pager {
  readonly publicUrl: string | undefined;
}

/** The URL of the next page: the request's own path and parameters, with perPage and nextPageToken. */
function nextLink(request: FastifyRequest, pager: Pager, perPage: number, token: string): string {
  const [path = ""] = request.url.split("?");
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(request.query as RawQuery)) {
    if (name !== "nextPageToken" && name !== "perPage" && typeof value === "string") params.set(name, value);
  }
  params.set("perPage", String(perPage));
  params.set("nextPageToken", token);
  return `<${pager.publicUrl ?? ""}${path}?${params.toString()}>; rel="next"`;
}

export const queryRoutes: FastifyPluginAsync<QueryDeps> = async (app, deps) => {
  const mirror = createMirror(deps.mirror, { treeCacheBytes: deps.treeCacheBytes ?? 64 * 2 ** 20 });
  app.addHook("onClose", () => Promise.resolve(mirror.close()));
  const index: EpcisQueryStore = createEpcisQueryStore(deps.store);
  const proofs: ProofsOf = createProofs({ mirror, anchored: createAnchoredLookup(deps.mirror, mirror.records) });
  const pager: Pager = { publicUrl: deps.publicUrl?.replace(/\/+$/, "") };

  const send = (reply: FastifyReply, type: string, body: object): FastifyReply =>
    reply.header("cache-control", "no-store").type(type).send(body);

  /** One page of events matching the request's parameters and `fixed`. */
  const eventsPage: QueryContext["eventsPage"] = async (request, reply, fixed, options = {}) => {
    const type = acceptedType(request.headers.accept);
    if (options.pageOnly === true) checkNames(singleValues(request.query as RawQuery), PAGE_ONLY);
    const parsed = parseEventQuery(request.query as RawQuery, fixed === undefined ? {} : { fixed });
    const rows = await index.events(parsed.filter, parsed.afterSeq, parsed.perPage + 1);
    const page = rows.slice(0, parsed.perPage);
    const last = page[page.length - 1];
    if (rows.length > parsed.perPage && last !== undefined)
      reply.header("link", nextLink(request, pager, parsed.perPage, pageToken(last.seq, parsed.fingerprint)));
    return send(
      reply,
      type,
      queryDocument(options.queryName ?? SIMPLE_EVENT_QUERY, eventsWithProofs(page, await proofs(page))),
    );
  };

  /** One page of a discovery collection, keyed by the last value. */
  const valuesPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    list: (after: string | null, limit: number) => Promise<string[]>,
  ): Promise<FastifyReply> => {
    const type = acceptedType(request.headers.accept);
    const params = singleValues(request.query as RawQuery);
    checkNames(params, PAGE_ONLY);
    const perPage = perPageOf(params.get("perPage"));
    const fingerprint = fingerprintOf(request.routeOptions.url ?? "");
    const token = params.get("nextPageToken");
    const after = token === undefined ? null : readPageToken(token, fingerprint);
    if (typeof after === "number")
      throw epcisProblem(400, "QueryParameterException", "nextPageToken: issued for another query");
    const values = await list(after, perPage + 1);
    const page = values.slice(0, perPage);
    const last = page[page.length - 1];
    if (values.length > perPage && last !== undefined)
      reply.header("link", nextLink(request, pager, perPage, pageToken(last, fingerprint)));
    return send(reply, type, collection(page));
  };

  /** The sub-resources of one value (`/bizSteps/shipping`): only its events. */
  const subResources = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const type = acceptedType(request.headers.accept);
    checkNames(singleValues(request.query as RawQuery), new Set());
    return send(reply, type, collection(["events"]));
  };

  app.get("/events", (request, reply) => eventsPage(request, reply, undefined));

  app.get<{ Params: { eventID: string } }>("/events/:eventID", async (request, reply) => {
    const type = acceptedType(request.headers.accept);
    checkNames(singleValues(request.query as RawQuery), new Set());
    const found: StoredEvent[] = await index.byEventId(checkText("eventID", request.params.eventID));
    if (found.length === 0)
      throw epcisProblem(404, "NoSuchResourceException", `no event ${request.params.eventID.slice(0, 120)}`);
    return send(reply, type, queryDocument(SIMPLE_EVENT_QUERY, eventsWithProofs(found, await proofs(found))));
  });

  app.get("/eventTypes", (request, reply) =>
    valuesPage(request, reply, (after, limit) =>
      Promise.resolve(
        EVENT_TYPES.filter((t) => after === null || t > after)
          .sort()
          .slice(0, limit),
      ),
    ),
  );
  app.get<{ Params: { eventType: string } }>("/eventTypes/:eventType", (request, reply) =>
    subResources(request, reply),
  );
  app.get<{ Params: { eventType: string } }>("/eventTypes/:eventType/events", (request, reply) =>
    eventsPage(request, reply, { eventTypes: [checkText("eventType", request.params.eventType)] }),
  );

  for (const resource of RESOURCES) {
    app.get(`/${resource.path}`, (request, reply) =>
      valuesPage(request, reply, (after, limit) => index.values(resource.column, after, limit)),
    );
    app.get<{ Params: Record<string, string> }>(`/${resource.path}/:${resource.param}`, (request, reply) =>
      subResources(request, reply),
    );
    app.get<{ Params: Record<string, string> }>(`/${resource.path}/:${resource.param}/events`, (request, reply) =>
      eventsPage(request, reply, resource.filter(checkText(resource.param, request.params[resource.param] ?? ""))),
    );
  }

  await app.register(namedQueryRoutes, {
    index,
    store: deps.store,
    allowPrivateWebhooks: deps.allowPrivateWebhooks ?? false,
    publicUrl: pager.publicUrl,
    eventsPage,
  });
};
