/**
 * Named queries and their subscriptions (REST binding /queries): POST /epcis/queries
 * `{name, query}` → 201; GET /epcis/queries, /epcis/queries/{name}, /epcis/queries/{name}/events;
 * DELETE /epcis/queries/{name}; POST /epcis/queries/{name}/subscriptions `{dest, signatureToken?,
 * stream: true}` or `{dest, signatureToken?, schedule, reportIfEmpty?}` → 201; GET and DELETE
 * /epcis/queries/{name}/subscriptions/{subscriptionID}. Registered inside the query plugin
 * (query.ts), whose event pages it reuses; the deliverer is query-subscriptions.ts.
 */
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createNamedQueryStore, type NamedQuery, type Subscription } from "../../mirror/epcis/query-named";
import { epcisProblem } from "./problem";
import type { QueryContext } from "./query";
import {
  checkNames,
  checkText,
  parseEventQuery,
  perPage as perPageOf,
  singleValues,
  type RawQuery,
} from "./query-params";
import { checkDestination, parseSchedule, type StoredSchedule } from "./query-subscriptions";

/** How many named queries and subscriptions the service keeps, so that an open endpoint cannot fill it. */
export const MAX_QUERIES = 1_000;
export const MAX_SUBSCRIPTIONS = 1_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const NAMED_PARAMS = new Set(["perPage", "nextPageToken"]);

const invalid = (detail: string) => epcisProblem(400, "ValidationException", detail);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The REST binding's query body (`{"EQ_bizStep": ["shipping", "receiving"]}`) as query-string values. */
export function queryParameters(query: unknown): Record<string, string> {
  if (!isObject(query)) throw invalid("query: not an object");
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (NAMED_PARAMS.has(name))
      throw epcisProblem(400, "QueryParameterException", `${name}: not part of a named query`);
    if (typeof value === "string") out[name] = value;
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string"))
      out[name] = value.join("|");
    else throw epcisProblem(400, "QueryParameterException", `${name}: not a string or a list of strings`);
  }
  // Refuses what GET /epcis/events would refuse, naming the parameter.
  parseEventQuery(out);
  return out;
}

const noSuchQuery = (name: string) => epcisProblem(404, "NoSuchNameException", `no query named ${name.slice(0, 100)}`);

function subscriptionView(s: Subscription): object {
  const schedule = s.schedule as unknown as StoredSchedule | null;
  return {
    subscriptionID: s.subscriptionId,
    dest: s.dest,
    createdAt: new Date(s.createdAt).toISOString(),
    ...(s.stream ? { stream: true } : {}),
    ...(schedule === null ? {} : { schedule: schedule.schedule, reportIfEmpty: schedule.reportIfEmpty }),
    attempts: s.attempts,
    ...(s.lastError === null ? {} : { lastError: s.lastError }),
  };
}

function queryView(q: NamedQuery): object {
  const query: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(q.query)) query[name] = value.split("|");
  return { name: q.name, query };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles
export const namedQueryRoutes: FastifyPluginAsync<QueryContext> = async (app, ctx) => {
  const named = createNamedQueryStore(ctx.store);
  const base = `${ctx.publicUrl ?? ""}/epcis/queries`;
  const noQuery = (request: FastifyRequest): void => checkNames(singleValues(request.query as RawQuery), new Set());
  const json = (reply: FastifyReply, status: number, body: object): FastifyReply =>
    reply.code(status).header("cache-control", "no-store").type("application/json").send(body);

  app.post("/queries", async (request, reply) => {
    noQuery(request);
    const body = request.body;
    if (!isObject(body)) throw invalid("the body is not a JSON object");
    for (const key of Object.keys(body)) if (key !== "name" && key !== "query") throw invalid(`${key}: unknown field`);
    const name = body.name;
    if (typeof name !== "string" || !NAME.test(name))
      throw invalid("name: 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit");
    const query = queryParameters(body.query);
    if ((await named.countQueries()) >= MAX_QUERIES) throw invalid(`at most ${MAX_QUERIES} named queries`);
    const created = await named.createQuery({ name, query, createdAt: Date.now() });
    if (!created) throw epcisProblem(409, "ResourceAlreadyExistsException", `a query named ${name} exists`);
    return json(
      reply.header("location", `${base}/${encodeURIComponent(name)}`),
      201,
      queryView({ name, query, createdAt: 0 }),
    );
  });

  app.get("/queries", async (request, reply) => {
    const params = singleValues(request.query as RawQuery);
    checkNames(params, NAMED_PARAMS);
    const perPage = perPageOf(params.get("perPage"));
    const after = params.get("nextPageToken");
    const list = await named.listQueries(
      after === undefined ? null : checkText("nextPageToken", Buffer.from(after, "base64url").toString("utf8")),
      perPage + 1,
    );
    const page = list.slice(0, perPage);
    const last = page[page.length - 1];
    if (list.length > perPage && last !== undefined) {
      const token = Buffer.from(last.name, "utf8").toString("base64url");
      reply.header("link", `<${base}?perPage=${perPage}&nextPageToken=${token}>; rel="next"`);
    }
    return json(reply, 200, page.map(queryView));
  });

  app.get<{ Params: { name: string } }>("/queries/:name", async (request, reply) => {
    noQuery(request);
    const query = await named.getQuery(checkText("name", request.params.name));
    if (query === undefined) throw noSuchQuery(request.params.name);
    return json(reply, 200, queryView(query));
  });

  app.delete<{ Params: { name: string } }>("/queries/:name", async (request, reply) => {
    noQuery(request);
    if (!(await named.deleteQuery(checkText("name", request.params.name)))) throw noSuchQuery(request.params.name);
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string } }>("/queries/:name/events", async (request, reply) => {
    const query = await named.getQuery(checkText("name", request.params.name));
    if (query === undefined) throw noSuchQuery(request.params.name);
    const { filter } = parseEventQuery(query.query);
    return ctx.eventsPage(request, reply, filter, { queryName: query.name, pageOnly: true });
  });

  app.post<{ Params: { name: string } }>("/queries/:name/subscriptions", async (request, reply) => {
    noQuery(request);
    const query = await named.getQuery(checkText("name", request.params.name));
    if (query === undefined) throw noSuchQuery(request.params.name);
    const body = request.body;
    if (!isObject(body)) throw invalid("the body is not a JSON object");
    const known = new Set(["dest", "signatureToken", "stream", "schedule", "reportIfEmpty", "initialRecordTime"]);
    for (const key of Object.keys(body))
      if (!known.has(key)) throw epcisProblem(400, "SubscriptionControlsException", `${key}: unknown field`);
    if (typeof body.dest !== "string") throw epcisProblem(400, "SubscriptionControlsException", "dest: required");
    const url = await checkDestination(body.dest, { allowPrivate: ctx.allowPrivateWebhooks });
    const token = body.signatureToken;
    if (
      token !== undefined &&
      (typeof token !== "string" || token.length === 0 || token.length > 500 || token.includes("\u0000"))
    )
      throw epcisProblem(400, "SubscriptionControlsException", "signatureToken: a string of 1 to 500 characters");
    const stream = body.stream === true;
    if (stream === (body.schedule !== undefined))
      throw epcisProblem(400, "SubscriptionControlsException", 'either "stream": true or a "schedule"');
    if (body.schedule !== undefined) parseSchedule(body.schedule);
    let start = Date.now();
    if (body.initialRecordTime !== undefined) {
      start = typeof body.initialRecordTime === "string" ? Date.parse(body.initialRecordTime) : NaN;
      if (!Number.isFinite(start))
        throw epcisProblem(400, "SubscriptionControlsException", "initialRecordTime: not a date-time");
    }
    if ((await named.countSubscriptions()) >= MAX_SUBSCRIPTIONS)
      throw epcisProblem(400, "SubscriptionControlsException", `at most ${MAX_SUBSCRIPTIONS} subscriptions`);
    const schedule: StoredSchedule | null = stream
      ? null
      : { schedule: body.schedule as Record<string, string>, reportIfEmpty: body.reportIfEmpty === true };
    const subscription: Subscription = {
      subscriptionId: randomUUID(),
      queryName: query.name,
      dest: url.toString(),
      signatureToken: typeof token === "string" ? token : null,
      stream,
      schedule: schedule as unknown as Record<string, unknown> | null,
      // The subscription's start: events recorded from then on are sent (docs/epcis.md).
      createdAt: start,
      nextAttemptAt: 0,
      attempts: 0,
      lastError: null,
    };
    await named.createSubscription(subscription);
    const location = `${base}/${encodeURIComponent(query.name)}/subscriptions/${subscription.subscriptionId}`;
    return json(reply.header("location", location), 201, subscriptionView(subscription));
  });

  app.get<{ Params: { name: string } }>("/queries/:name/subscriptions", async (request, reply) => {
    noQuery(request);
    if ((await named.getQuery(checkText("name", request.params.name))) === undefined)
      throw noSuchQuery(request.params.name);
    return json(
      reply,
      200,
      (await named.listSubscriptions(checkText("name", request.params.name))).map(subscriptionView),
    );
  });

  app.get<{ Params: { name: string; id: string } }>("/queries/:name/subscriptions/:id", async (request, reply) => {
    noQuery(request);
    const s = await named.getSubscription(checkText("name", request.params.name), checkText("id", request.params.id));
    if (s === undefined) throw epcisProblem(404, "NoSuchResourceException", "no such subscription");
    return json(reply, 200, subscriptionView(s));
  });

  app.delete<{ Params: { name: string; id: string } }>("/queries/:name/subscriptions/:id", async (request, reply) => {
    noQuery(request);
    if (!(await named.deleteSubscription(checkText("name", request.params.name), checkText("id", request.params.id))))
      throw epcisProblem(404, "NoSuchResourceException", "no such subscription");
    return reply.code(204).send();
  });
};
