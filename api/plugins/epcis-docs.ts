/**
 * The OpenAPI description of the EPCIS 2.0 capture and query routes (api/epcis/capture.ts,
 * query.ts, query-named.ts), which validate their documents and parameters in the handler rather
 * than with Fastify schemas. The docs
 * plugin (./docs.ts) merges these into the generated document for the routes the app registers;
 * they change nothing a request sees. docs/epcis.md describes the interface in full.
 */
import type { FastifySchema } from "fastify";
import { LIST_PARAMS, MATCH_ROLES, PAGE_PARAMS, TIME_PARAMS } from "../epcis/query-params";

const CAPTURE_TOKEN = [{ captureToken: [] }];

const GS1_HEADERS = {
  type: "object",
  properties: {
    "GS1-EPCIS-Version": { type: "string", description: "2.0.0" },
    "GS1-CBV-Version": { type: "string", description: "2.0.0" },
  },
};

const problem = (description: string) => ({
  description: `${description} (application/problem+json, type epcisException:…)`,
  content: {
    "application/problem+json": {
      schema: {
        type: "object",
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          instance: { type: "string" },
        },
      },
    },
  },
});

const EPCIS_DOCUMENT = {
  type: "object",
  description:
    "An EPCISDocument (GS1 EPCIS 2.0 JSON / JSON-LD), validated with GS1's JSON Schema and the rules it cannot express.",
  required: ["type", "schemaVersion", "creationDate", "epcisBody"],
  properties: {
    "@context": {},
    type: { type: "string", enum: ["EPCISDocument"] },
    schemaVersion: { type: "string" },
    creationDate: { type: "string", format: "date-time" },
    epcisBody: {
      type: "object",
      properties: { eventList: { type: "array", items: { type: "object", additionalProperties: true } } },
    },
  },
  additionalProperties: true,
};

const EPCIS_EVENT = {
  type: "object",
  description:
    "One EPCIS 2.0 event (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent).",
  required: ["type", "eventTime", "eventTimeZoneOffset"],
  additionalProperties: true,
};

const CAPTURE_JOB = {
  type: "object",
  properties: {
    captureID: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    finishedAt: { type: "string", format: "date-time" },
    running: { type: "boolean" },
    success: { type: "boolean" },
    captureErrorBehaviour: { type: "string", enum: ["rollback", "proceed"] },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: { eventIndex: { type: "integer" }, field: { type: "string" }, message: { type: "string" } },
      },
    },
    eventCount: { type: "integer" },
    storedCount: { type: "integer" },
    anchor: {
      description: "null until every stored event of the job is in an anchored trace batch",
      type: "object",
      nullable: true,
      properties: { root: { type: "string" }, txHash: { type: "string" }, block: { type: "integer" } },
    },
  },
};

const json = (schema: object) => ({ "application/json": { schema } });
const documentBody = {
  content: { "application/ld+json": { schema: EPCIS_DOCUMENT }, "application/json": { schema: EPCIS_DOCUMENT } },
};
const eventBody = {
  content: { "application/ld+json": { schema: EPCIS_EVENT }, "application/json": { schema: EPCIS_EVENT } },
};
const refusals = {
  401: problem("no capture token, or one that is not valid"),
  403: problem("the token's brand has not named this service's account as a submitter on chain"),
};

const QUERY_DOCUMENT = {
  type: "object",
  description:
    'An EPCISQueryDocument; every event carries "ta:proof": {salt, recordHash, proof, root, anchor} once anchored (null before), verifiable against the chain without trusting us (docs/epcis.md).',
  additionalProperties: true,
};

const queryResults = {
  200: {
    description: 'the events, oldest first; Link: <…>; rel="next" when there are more',
    content: { "application/ld+json": { schema: QUERY_DOCUMENT }, "application/json": { schema: QUERY_DOCUMENT } },
  },
  400: problem("QueryParameterException: the parameter is named"),
  406: problem("NotAcceptableException"),
};

const stringParams = (names: readonly string[], description: string) =>
  Object.fromEntries(names.map((name) => [name, { type: "string", description }]));

const EVENT_QUERY = {
  type: "object",
  properties: {
    ...stringParams(LIST_PARAMS, "values separated by | match any; CBV values in bare, URN or URI form"),
    ...stringParams(TIME_PARAMS, "ISO 8601 date-time"),
    ...stringParams(Object.keys(MATCH_ROLES), "EPCs, classes or patterns (URN or Digital Link), | separated"),
    ...stringParams(PAGE_PARAMS, "perPage (default 30, at most 500); nextPageToken from the Link header"),
  },
};

const page = { type: "object", properties: stringParams(PAGE_PARAMS, "paging") };
const values = {
  200: { description: "the values, one page", content: json({ type: "array", items: { type: "string" } }) },
};

const discovery = (
  path: string,
  param: string,
  what: string,
): Record<string, FastifySchema & Record<string, unknown>> => ({
  [`GET /epcis/${path}`]: { summary: `The ${what} that stored events name`, querystring: page, response: values },
  [`GET /epcis/${path}/:${param}/events`]: {
    summary: `Events naming one of the ${what}`,
    params: { type: "object", properties: { [param]: { type: "string" } }, required: [param] },
    querystring: page,
    response: queryResults,
  },
});

/** Keyed by method and the route's Fastify URL under the app. */
export const EPCIS_OPERATIONS: Readonly<Record<string, FastifySchema & Record<string, unknown>>> = {
  "GET /epcis/events": {
    summary: "Query events (GS1 EPCIS 2.0 REST binding), with Merkle proofs",
    querystring: EVENT_QUERY,
    response: queryResults,
  },
  "GET /epcis/events/:eventID": {
    summary: "One event with its corrections (errorDeclaration), with proofs",
    params: { type: "object", properties: { eventID: { type: "string" } }, required: ["eventID"] },
    response: { ...queryResults, 404: problem("NoSuchResourceException") },
  },
  ...discovery("eventTypes", "eventType", "event types"),
  ...discovery("epcs", "epc", "EPCs"),
  ...discovery("bizSteps", "bizStep", "business steps"),
  ...discovery("bizLocations", "bizLocation", "business locations"),
  ...discovery("readPoints", "readPoint", "read points"),
  ...discovery("dispositions", "disposition", "dispositions"),
  "POST /epcis/queries": {
    summary: "Create a named query: {name, query}",
    response: {
      201: { description: "created; Location: /epcis/queries/{name}" },
      409: problem("ResourceAlreadyExistsException"),
    },
  },
  "GET /epcis/queries/:name/events": {
    summary: "The events of a named query, with proofs",
    params: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
    response: { ...queryResults, 404: problem("NoSuchNameException") },
  },
  "POST /epcis/queries/:name/subscriptions": {
    summary:
      "Subscribe: {dest, signatureToken, stream: true} or a schedule; anchored matching events are POSTed to dest as an EPCISQueryDocument signed in GS1-Signature (HMAC-SHA256 of the body keyed by signatureToken), never the same event twice",
    params: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
    response: {
      201: { description: "subscribed" },
      400: problem("SubscriptionControlsException"),
      404: problem("NoSuchNameException"),
    },
  },
  "OPTIONS /epcis/capture": {
    summary: "Capture discovery: versions, limits and error behaviours",
    description:
      "204 with GS1-EPCIS-Version, GS1-CBV-Version, GS1-EPCIS-Capture-Limit (TRACE_CAPTURE_LIMIT), GS1-EPCIS-Capture-File-Size-Limit (TRACE_CAPTURE_FILE_SIZE_LIMIT) and GS1-Capture-Error-Behaviour.",
    response: { 204: { description: "the capture interface's headers", headers: GS1_HEADERS } },
  },
  "POST /epcis/capture": {
    summary: "Capture an EPCISDocument",
    description:
      "Stores the document's events (durably, before the 202) and queues them for anchoring as a trace batch of the token's brand, at most every TRACE_CAPTURE_BATCH_SECONDS or TRACE_CAPTURE_BATCH_EVENTS. Events without an eventID get their CBV 2.0 event hash id. An event already stored is skipped. GS1-Capture-Error-Behaviour: rollback (default) stores nothing from a document with an invalid event; proceed stores the valid ones and lists the others in the job.",
    security: CAPTURE_TOKEN,
    headers: {
      type: "object",
      properties: { "GS1-Capture-Error-Behaviour": { type: "string", enum: ["rollback", "proceed"] } },
    },
    body: documentBody,
    response: {
      202: {
        description: "accepted; Location: /epcis/capture/{captureID}",
        headers: { type: "object", properties: { Location: { type: "string" } } },
        content: json(CAPTURE_JOB),
      },
      400: problem("ValidationException: the refusals name the event index and the field"),
      ...refusals,
      413: problem("CaptureLimitExceededException: more events or bytes than the capture limits"),
      415: problem("UnsupportedMediaTypeException: not application/json or application/ld+json"),
    },
  },
  "GET /epcis/capture": {
    summary: "The token's brand's capture jobs, newest first",
    security: CAPTURE_TOKEN,
    querystring: {
      type: "object",
      properties: { perPage: { type: "integer", minimum: 1, maximum: 1000 }, nextPageToken: { type: "string" } },
    },
    response: {
      200: {
        description: 'the jobs; Link: <…>; rel="next" when there are more',
        content: json({ type: "array", items: CAPTURE_JOB }),
      },
      401: refusals[401],
    },
  },
  "GET /epcis/capture/:captureID": {
    summary: "One capture job: running, success, errors, and its anchor once made",
    security: CAPTURE_TOKEN,
    params: { type: "object", properties: { captureID: { type: "string" } }, required: ["captureID"] },
    response: {
      200: { description: "the job", content: json(CAPTURE_JOB) },
      401: refusals[401],
      404: problem("NoSuchResourceException: no such job of the token's brand"),
    },
  },
  "POST /epcis/events": {
    summary: "Capture one event",
    description: "201 with Location: /epcis/events/{eventID}; 409 when an event with that eventID exists.",
    security: CAPTURE_TOKEN,
    body: eventBody,
    response: {
      201: { description: "stored, as it will be anchored (with its eventID)", content: json(EPCIS_EVENT) },
      400: problem("ValidationException"),
      ...refusals,
      409: problem("ResourceAlreadyExistsException"),
    },
  },
};
