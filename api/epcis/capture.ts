/**
 * EPCIS 2.0 capture interface, as GS1's REST binding says (docs/epcis.md, "Capture"):
 *
 *   OPTIONS /epcis/capture               204: versions, capture limits, error behaviours
 *   POST    /epcis/capture               an EPCISDocument (or an EPCISQueryDocument: its eventList)
 *                                        → 202, Location: /epcis/capture/{captureID}
 *   GET     /epcis/capture               the token's brand's capture jobs, newest first (perPage, nextPageToken)
 *   GET     /epcis/capture/{captureID}   one job: running, success, errors, and its anchor once made
 *   POST    /epcis/events                one event → 201, Location: /epcis/events/{eventID}; 409 when it exists
 *
 * Every route but OPTIONS needs `Authorization: Bearer <capture token>` (401), and writes need the
 * token's brand to have named the service's account as a submitter on chain (403). Documents are
 * validated with core/epcis-validate.ts; each refusal names the event's index and the field. Under
 * `GS1-Capture-Error-Behaviour: rollback` (the default) a document with an invalid event is refused
 * (400) and nothing is stored; under `proceed` the valid events are stored and the job lists the
 * others (a document with no valid event is refused under either). An event already stored (same eventID, or the same content) is skipped, not stored twice;
 * the job's storedCount says how many were new. Everything a 202 or 201 reports is committed.
 */
import { randomBytes } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { validateEpcisEnvelope, validateEpcisEvent, type EpcisProblem as Problem } from "../../core/epcis-validate";
import { isPlainObject, type EpcisEvent } from "../../core/record";
import {
  getCapture,
  listCaptures,
  prepareEvent,
  storeCapture,
  storedJob,
  type CaptureError,
  type CaptureJobInput,
  type CaptureJob,
  type ErrorBehaviour,
  type PreparedEvent,
} from "../../mirror/epcis/capture";
import type { EpcisStore } from "../../mirror/epcis/store";
import { tokenOf, type TokenInfo } from "../../mirror/epcis/tokens";
import { wholeNumberEnv } from "../../mirror/epcis/worker";
import { createPreparePool, defaultPrepareThreads, prepareDocumentEvents, type EventOutcome } from "./capture-prepare";
import { discoveryHeaders } from "./discovery";
import { epcisProblem } from "./problem";

export interface CaptureLimits {
  /** GS1-EPCIS-Capture-Limit: most events in one document. */
  readonly events: number;
  /** GS1-EPCIS-Capture-File-Size-Limit: largest request body, in bytes. */
  readonly bytes: number;
}

export const CAPTURE_LIMIT_DEFAULTS: CaptureLimits = { events: 10_000, bytes: 16 * 2 ** 20 };

export interface CaptureDeps {
  readonly store: EpcisStore;
  /** The service's account, which anchors captured events; a brand names it as a submitter. */
  readonly account: string;
  /** The brand's current submitters on chain (the mirror's submitters table). */
  readonly submitters: (brandId: number) => Promise<readonly { readonly account: string }[]>;
  readonly limits?: Partial<CaptureLimits>;
  /** Injected for tests; default Date.now. */
  readonly now?: () => number;
  /**
   * Worker threads that validate and prepare a document's events (api/epcis/capture-prepare.ts);
   * 0 does it on the main thread. Default TRACE_CAPTURE_PREPARE_THREADS, else 1 on a machine with
   * more than one core.
   */
  readonly prepareThreads?: number;
}

/** TRACE_CAPTURE_PREPARE_THREADS (0 to 64; unset: defaultPrepareThreads()); throws naming a bad value. */
export function prepareThreadsEnv(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.TRACE_CAPTURE_PREPARE_THREADS?.trim();
  if (raw === undefined || raw === "") return defaultPrepareThreads();
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 64)
    throw new RangeError(`TRACE_CAPTURE_PREPARE_THREADS must be a whole number from 0 to 64, got "${raw}"`);
  return Number(raw);
}

/** Documents with fewer events are prepared on the main thread: posting them costs more than it saves. */
const POOL_MIN_EVENTS = 16;

/** Parses TRACE_CAPTURE_LIMIT and TRACE_CAPTURE_FILE_SIZE_LIMIT; throws naming a bad one. */
export function parseCaptureLimitsEnv(env: Readonly<Record<string, string | undefined>>): CaptureLimits {
  const read = (name: string, fallback: number, max: number): number => wholeNumberEnv(env, name, fallback, max);
  return {
    events: read("TRACE_CAPTURE_LIMIT", CAPTURE_LIMIT_DEFAULTS.events, 1_000_000),
    bytes: read("TRACE_CAPTURE_FILE_SIZE_LIMIT", CAPTURE_LIMIT_DEFAULTS.bytes, 2 ** 30),
  };
}

declare module "fastify" {
  interface FastifyRequest {
    captureToken?: TokenInfo;
  }
}

const MEDIA_TYPES = new Set(["application/json", "application/ld+json"]);
/** Problems named in a 400's detail; the rest are counted. */
const DETAIL_PROBLEMS = 5;
const SUBMITTER_CACHE_MS = 1000;

function describeProblem(p: { eventIndex?: number; field: string; message: string }): string {
  const where = p.eventIndex === undefined ? "document" : `event ${p.eventIndex}`;
  return p.field === "" ? `${where}: ${p.message}` : `${where}: ${p.field}: ${p.message}`;
}

function refusal(problems: readonly { eventIndex?: number; field: string; message: string }[]): Error {
  const shown = problems.slice(0, DETAIL_PROBLEMS).map(describeProblem);
  const more = problems.length > DETAIL_PROBLEMS ? `; and ${problems.length - DETAIL_PROBLEMS} more` : "";
  return epcisProblem(400, "ValidationException", `${shown.join("; ")}${more}`);
}

function toCaptureError(p: Problem, eventIndex?: number): CaptureError {
  return { ...(eventIndex === undefined ? {} : { eventIndex }), field: p.field, message: p.message };
}

function behaviourOf(request: FastifyRequest): ErrorBehaviour {
  const raw = request.headers["gs1-capture-error-behaviour"];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
  if (value === undefined || value === "" || value === "rollback") return "rollback";
  if (value === "proceed") return "proceed";
  throw epcisProblem(400, "ValidationException", `GS1-Capture-Error-Behaviour must be rollback or proceed`);
}

function iso(ms: number | null): string | undefined {
  return ms === null ? undefined : new Date(ms).toISOString();
}

function jobDocument(job: CaptureJob): Record<string, unknown> {
  return {
    captureID: job.captureId,
    createdAt: iso(job.createdAt),
    ...(job.finishedAt === null ? {} : { finishedAt: iso(job.finishedAt) }),
    running: job.running,
    success: job.success ?? true,
    captureErrorBehaviour: job.captureErrorBehaviour,
    errors: job.errors,
    eventCount: job.eventCount,
    storedCount: job.storedCount,
    anchor: job.anchor,
  };
}

function pageToken(job: CaptureJob): string {
  return Buffer.from(JSON.stringify([job.createdAt, job.captureId])).toString("base64url");
}

function parsePageToken(token: string): { createdAt: number; captureId: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === "string")
      return { createdAt: value[0] as number, captureId: value[1] };
  } catch {
    // fall through to the refusal
  }
  throw epcisProblem(400, "QueryParameterException", "nextPageToken is not a token this service issued");
}

/** Members of an event that are our annotations in query results, not part of the event. */
const ANNOTATIONS = ["ta:proof"];

function withoutAnnotations(event: unknown): unknown {
  if (!isPlainObject(event) || !ANNOTATIONS.some((key) => key in event)) return event;
  const copy: Record<string, unknown> = { ...event };
  for (const key of ANNOTATIONS) delete copy[key];
  return copy;
}

/**
 * The REST binding lets a capture body be an EPCISQueryDocument (the result of a query, passed on
 * from another repository): its events are epcisBody.queryResults.resultsBody.eventList. It is
 * captured as the EPCISDocument with those events and the same header (schemaVersion and
 * creationDate, optional in a query document, default to "2.0" and now); a "ta:proof" a TraceAnchor
 * query result carries is dropped from each event (it is about our anchor, not part of the event,
 * and the event's hash is without it). Any other body is returned as it is.
 */
export function asCaptureDocument(doc: unknown, now = Date.now()): unknown {
  if (!isPlainObject(doc) || doc.type !== "EPCISQueryDocument") return doc;
  const body = doc.epcisBody;
  const results = isPlainObject(body) ? body.queryResults : undefined;
  const resultsBody = isPlainObject(results) ? results.resultsBody : undefined;
  const list = isPlainObject(resultsBody) ? resultsBody.eventList : undefined;
  if (!Array.isArray(list))
    throw epcisProblem(
      400,
      "ValidationException",
      "document: epcisBody.queryResults.resultsBody.eventList: an EPCISQueryDocument needs its list of events",
    );
  return {
    ...doc,
    type: "EPCISDocument",
    schemaVersion: doc.schemaVersion ?? "2.0",
    creationDate: doc.creationDate ?? new Date(now).toISOString(),
    epcisBody: { eventList: list.map(withoutAnnotations) },
  };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles
export const captureRoutes: FastifyPluginAsync<CaptureDeps> = async (app, deps) => {
  const limits: CaptureLimits = { ...CAPTURE_LIMIT_DEFAULTS, ...deps.limits };
  const now = deps.now ?? Date.now;
  const threads = deps.prepareThreads ?? prepareThreadsEnv(process.env);
  const pool = threads > 0 ? createPreparePool(threads) : undefined;
  if (pool !== undefined) app.addHook("onClose", () => pool.close());

  /** Each event's problems or its prepared form, from the pool for a large document (the main thread if that fails). */
  async function outcomesOf(events: readonly unknown[], context: unknown): Promise<EventOutcome[]> {
    if (pool !== undefined && events.length >= POOL_MIN_EVENTS) {
      const outcomes = await pool.prepare(events, context).catch(() => undefined);
      if (outcomes !== undefined) return outcomes;
    }
    return prepareDocumentEvents(events, context);
  }
  const account = deps.account.toLowerCase();
  const consent = new Map<number, { at: number; ok: boolean }>();
  const limitHeaders = {
    "GS1-EPCIS-Capture-Limit": String(limits.events),
    "GS1-EPCIS-Capture-File-Size-Limit": String(limits.bytes),
  };

  app.addContentTypeParser(
    "application/ld+json",
    { parseAs: "string", bodyLimit: limits.bytes },
    app.getDefaultJsonParser("error", "error"),
  );

  async function hasConsent(brandId: number): Promise<boolean> {
    const cached = consent.get(brandId);
    if (cached !== undefined && now() - cached.at < SUBMITTER_CACHE_MS) return cached.ok;
    const ok = (await deps.submitters(brandId)).some((s) => s.account.toLowerCase() === account);
    consent.set(brandId, { at: now(), ok });
    return ok;
  }

  /** 401 without a valid token, 415 for a body that is not JSON, 403 without the brand's consent on chain. */
  async function authorise(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.headers(limitHeaders);
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1] === undefined ? undefined : await tokenOf(deps.store, match[1]);
    if (token === undefined) {
      reply.header("www-authenticate", 'Bearer realm="epcis-capture"');
      throw epcisProblem(
        401,
        "SecurityException",
        match === null ? "capture needs Authorization: Bearer <capture token>" : "the capture token is not valid",
      );
    }
    request.captureToken = token;
    if (request.method !== "POST") return;
    const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (!MEDIA_TYPES.has(type))
      throw epcisProblem(
        415,
        "UnsupportedMediaTypeException",
        `send application/json or application/ld+json, not ${JSON.stringify(type.slice(0, 100))}`,
      );
    if (!(await hasConsent(token.brandId)))
      throw epcisProblem(
        403,
        "SecurityException",
        `brand ${token.brandId} has not named this service's account ${deps.account} as a submitter on chain ` +
          `(its admin runs: traceanchor brand submitter --brand ${token.brandId} --account ${deps.account} --role epcis-capture)`,
      );
  }

  function tokenFrom(request: FastifyRequest): TokenInfo {
    if (request.captureToken === undefined) throw epcisProblem(401, "SecurityException", "no capture token");
    return request.captureToken;
  }

  app.options("/capture", async (_request, reply) => {
    return reply
      .code(204)
      .headers({
        ...discoveryHeaders(["GET", "POST"]),
        ...limitHeaders,
        "GS1-Capture-Error-Behaviour": "all",
      })
      .send();
  });

  app.post("/capture", { bodyLimit: limits.bytes, onRequest: authorise }, async (request, reply) => {
    const token = tokenFrom(request);
    const behaviour = behaviourOf(request);
    const doc = asCaptureDocument(request.body);
    const envelope = validateEpcisEnvelope(doc);
    if (!envelope.ok) throw refusal(envelope.errors.map((p) => toCaptureError(p)));
    const body = isPlainObject(doc) && isPlainObject(doc.epcisBody) ? doc.epcisBody : {};
    const events: unknown[] = Array.isArray(body.eventList) ? body.eventList : [];
    if (events.length > limits.events)
      throw epcisProblem(
        413,
        "CaptureLimitExceededException",
        `the document has ${events.length} events; GS1-EPCIS-Capture-Limit is ${limits.events}`,
      );
    const context = isPlainObject(doc) ? doc["@context"] : undefined;
    const errors: CaptureError[] = [];
    const valid: { eventIndex: number; prepared: PreparedEvent }[] = [];
    (await outcomesOf(events, context)).forEach((outcome, eventIndex) => {
      if (outcome.prepared === undefined) errors.push(...outcome.problems.map((p) => toCaptureError(p, eventIndex)));
      else valid.push({ eventIndex, prepared: outcome.prepared });
    });
    // Under proceed a document with no valid event at all is refused too: there is nothing to proceed with.
    if (errors.length > 0 && (behaviour === "rollback" || valid.length === 0)) throw refusal(errors);
    const captureId = `cap_${randomBytes(12).toString("hex")}`;
    const input: CaptureJobInput = {
      captureId,
      brandId: token.brandId,
      tokenId: token.tokenId,
      behaviour,
      eventCount: events.length,
      events: valid,
      errors,
      now: now(),
    };
    // The job as GET /epcis/capture/{id} would read it now, without reading it back.
    const job = storedJob(input, await storeCapture(deps.store, input));
    return reply.code(202).header("location", `/epcis/capture/${captureId}`).send(jobDocument(job));
  });

  app.get("/capture", { onRequest: authorise }, async (request, reply) => {
    const token = tokenFrom(request);
    const query = request.query as Record<string, unknown>;
    const perPageRaw = typeof query.perPage === "string" ? query.perPage : "30";
    if (!/^\d{1,4}$/.test(perPageRaw) || Number(perPageRaw) < 1 || Number(perPageRaw) > 1000)
      throw epcisProblem(400, "QueryParameterException", "perPage must be a whole number from 1 to 1000");
    const perPage = Number(perPageRaw);
    const before = typeof query.nextPageToken === "string" ? parsePageToken(query.nextPageToken) : undefined;
    const jobs = await listCaptures(deps.store, token.brandId, {
      limit: perPage + 1,
      ...(before === undefined ? {} : { before }),
    });
    const page = jobs.slice(0, perPage);
    const last = page[page.length - 1];
    if (jobs.length > perPage && last !== undefined)
      reply.header("link", `</epcis/capture?perPage=${perPage}&nextPageToken=${pageToken(last)}>; rel="next"`);
    return reply.header("cache-control", "no-store").send(page.map(jobDocument));
  });

  app.get<{ Params: { captureID: string } }>(
    "/capture/:captureID",
    { onRequest: authorise },
    async (request, reply) => {
      const token = tokenFrom(request);
      const job = await getCapture(deps.store, request.params.captureID, token.brandId);
      if (job === undefined)
        throw epcisProblem(404, "NoSuchResourceException", `no capture job ${request.params.captureID.slice(0, 100)}`);
      return reply.header("cache-control", "no-store").send(jobDocument(job));
    },
  );

  app.post("/events", { bodyLimit: limits.bytes, onRequest: authorise }, async (request, reply) => {
    const token = tokenFrom(request);
    const event: unknown = request.body;
    const problems = validateEpcisEvent(event).errors;
    if (problems.length > 0)
      throw refusal(problems.map((p) => ({ field: p.field === "" ? "event" : p.field, message: p.message })));
    const source = event as EpcisEvent;
    const prepared = prepareEvent(source, { context: source["@context"] });
    const result = await storeCapture(deps.store, {
      captureId: `cap_${randomBytes(12).toString("hex")}`,
      brandId: token.brandId,
      tokenId: token.tokenId,
      behaviour: "rollback",
      eventCount: 1,
      events: [{ eventIndex: 0, prepared }],
      errors: [],
      now: now(),
      single: true,
    });
    if (result.stored === 0)
      throw epcisProblem(409, "ResourceAlreadyExistsException", `event ${prepared.eventId} already exists`);
    return reply
      .code(201)
      .header("location", `/epcis/events/${encodeURIComponent(prepared.eventId)}`)
      .send(prepared.event);
  });
};
