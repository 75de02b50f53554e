/**
 * EPCIS 2.0 REST query parameters (openapi.yaml, GET /events) into the query index's filter
 * (mirror/epcis/query.ts), and the page tokens. Pure.
 *
 *   parseEventQuery(query, { fixed? }): ParsedEventQuery    throws 400 QueryParameterException
 *   pageToken(seq | value, fingerprint) / readPageToken(token, fingerprint)
 *
 * Pipe-separated values are ORs (`EQ_bizStep=shipping|receiving`); parameters are ANDed.
 * Business steps and dispositions match in bare, CBV URN and web URI forms; EPCs, read points and
 * business locations in EPC URN and GS1 Digital Link forms (both become one normal form,
 * mirror/epcis/event-rows.ts); MATCH_… parameters also take EPC pattern URNs
 * (`urn:epc:idpat:sgtin:0614141.107346.*`). A parameter we do not know, or know and do not
 * support, is refused naming it, as is a parameter given twice.
 */
import { createHash } from "node:crypto";
import { normalEpc, normalCbv, type EpcRole } from "../../mirror/epcis/event-rows";
import { MAX_VALUES, type EpcCondition, type EpcValueMatch, type EventFilter } from "../../mirror/epcis/query";
import { epcisProblem } from "./problem";

/** perPage when none is given (the REST binding's default) and the most we return in one page. */
export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 500;

const EPC_ROLES = ["epc", "child", "parent", "input", "output"] as const satisfies readonly EpcRole[];
const CLASS_ROLES = ["epcClass", "childClass", "inputClass", "outputClass"] as const satisfies readonly EpcRole[];

/** The MATCH_ parameters and the roles each looks at (EPCIS 2.0 §8.2.7.1). */
export const MATCH_ROLES: Readonly<Record<string, readonly EpcRole[]>> = {
  MATCH_epc: ["epc", "child"],
  MATCH_parentID: ["parent"],
  MATCH_inputEPC: ["input"],
  MATCH_outputEPC: ["output"],
  MATCH_anyEPC: EPC_ROLES,
  MATCH_epcClass: ["epcClass", "childClass"],
  MATCH_inputEPCClass: ["inputClass"],
  MATCH_outputEPCClass: ["outputClass"],
  MATCH_anyEPCClass: CLASS_ROLES,
};

/** Every role: what /epcs/{epc}/events looks at. */
export const ALL_ROLES: readonly EpcRole[] = [...EPC_ROLES, ...CLASS_ROLES];

const ACTIONS = new Set(["ADD", "OBSERVE", "DELETE"]);

export const LIST_PARAMS = [
  "eventType",
  "EQ_action",
  "EQ_bizStep",
  "EQ_disposition",
  "EQ_readPoint",
  "EQ_bizLocation",
  "EQ_eventID",
];
export const TIME_PARAMS = ["GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime"];
export const PAGE_PARAMS = ["perPage", "nextPageToken"];
const EVENT_PARAMS = new Set([...LIST_PARAMS, ...TIME_PARAMS, ...Object.keys(MATCH_ROLES), ...PAGE_PARAMS]);

/** Parameters of the REST binding's GET /events that this service does not implement (yet). */
const UNSUPPORTED =
  /^(EQ_persistentDisposition_(set|unset)|WD_readPoint|WD_bizLocation|EQ_transformationID|(EQ|GT|GE|LT|LE)_quantity|EXISTS_.*|(GE|LT)_errorDeclarationTime|EQ_errorReason|EQ_correctiveEventID|orderBy|orderDirection|eventCountLimit|maxEventCount|(GE|LT)_(startTime|endTime)|EQ_(type|deviceID|dataProcessingMethod|microorganism|chemicalSubstance|bizRules|stringValue|hexBinaryValue|uriValue|booleanValue)|EQ_bizTransaction_.*|EQ_source_.*|EQ_destination_.*|EQ_INNER_.*|EQ_ILMD_.*|EQ_SENSORELEMENT_.*|EQ_SENSORMETADATA_.*|EQ_SENSORREPORT_.*|.*_value|.*_minValue|.*_maxValue|.*_meanValue|.*_sDev|.*_percValue)$/;

export type RawQuery = Readonly<Record<string, unknown>>;

export interface ParsedEventQuery {
  readonly filter: EventFilter;
  readonly perPage: number;
  /** Continue after this seq (0: from the first event). */
  readonly afterSeq: number;
  /** Binds a nextPageToken to the query it was issued for. */
  readonly fingerprint: string;
}

const bad = (detail: string) => epcisProblem(400, "QueryParameterException", detail);

/** The parameters as single strings, refusing repeated ones. */
export function singleValues(query: RawQuery): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) throw bad(`${name}: given more than once; separate values with "|"`);
    if (typeof value !== "string") throw bad(`${name}: not a string`);
    out.set(checkText("parameter name", name), checkText(name, value));
  }
  return out;
}

/** Refuses a NUL character (no SQL text may hold one) and values over 10,000 characters; returns the value. */
export function checkText(name: string, value: string): string {
  if (value.includes("\u0000")) throw bad(`${name.split("\u0000").join("")}: contains a NUL character`);
  if (value.length > 10_000) throw bad(`${name.slice(0, 60)}: longer than 10,000 characters`);
  return value;
}

/** Refuses any parameter outside `allowed`, naming it. */
export function checkNames(params: Map<string, string>, allowed: ReadonlySet<string>): void {
  for (const name of params.keys()) {
    if (allowed.has(name)) continue;
    if (UNSUPPORTED.test(name)) throw bad(`${name}: query parameter not supported by this repository`);
    throw bad(`${name}: unknown query parameter`);
  }
}

function pipeList(name: string, value: string): string[] {
  const list = value.split("|");
  if (list.some((v) => v === "")) throw bad(`${name}: empty value`);
  if (list.length > MAX_VALUES) throw bad(`${name}: at most ${MAX_VALUES} values`);
  return list;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function time(name: string, value: string): number {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw bad(`${name}: not an ISO 8601 date-time with a time zone: ${value.slice(0, 80)}`);
  return ms;
}

/** How an EPC parameter value matches: exactly (URN or Digital Link), or an EPC pattern's ranges. */
export function epcMatches(name: string, value: string): EpcValueMatch[] {
  if (!value.startsWith("urn:epc:idpat:")) return [{ exact: normalEpc(value) }];
  const m = /^urn:epc:idpat:([a-z0-9-]+):([^*]*\.)\*$/.exec(value);
  if (m === null) throw bad(`${name}: unsupported EPC pattern ${value.slice(0, 100)} (only a trailing ".*" is)`);
  const [, scheme = "", head = ""] = m;
  const matches: EpcValueMatch[] = [];
  const sampled = (form: string): string | undefined => {
    for (const sample of ["X", "0"]) {
      const normal = normalEpc(`${form}${head}${sample}`);
      if (normal.endsWith(sample)) return normal.slice(0, -1);
    }
    return undefined;
  };
  const instances = sampled(`urn:epc:id:${scheme}:`);
  if (instances !== undefined) matches.push({ prefix: instances });
  if (scheme === "sgtin") {
    // The class itself and its lots, for the class parameters.
    matches.push({ exact: normalEpc(value) });
    const lots = sampled("urn:epc:class:lgtin:");
    if (lots !== undefined) matches.push({ prefix: lots });
  }
  if (matches.length === 0) throw bad(`${name}: unsupported EPC pattern ${value.slice(0, 100)}`);
  return matches;
}

/**
 * The filter of GET /events (and of the /{resource}/{value}/events endpoints, whose `fixed` value
 * is ANDed with what the query string says).
 */
export function parseEventQuery(query: RawQuery, options: { fixed?: EventFilter } = {}): ParsedEventQuery {
  const params = singleValues(query);
  checkNames(params, EVENT_PARAMS);
  const filter: {
    -readonly [K in keyof EventFilter]: EventFilter[K];
  } = { ...options.fixed };
  const epcs: EpcCondition[] = [...(options.fixed?.epcs ?? [])];
  const and = (a: readonly string[] | undefined, b: string[]): string[] =>
    a === undefined ? b : b.filter((v) => a.includes(v));
  for (const [name, value] of params) {
    switch (name) {
      case "eventType":
        filter.eventTypes = and(filter.eventTypes, pipeList(name, value));
        break;
      case "EQ_action": {
        const list = pipeList(name, value);
        for (const action of list)
          if (!ACTIONS.has(action)) throw bad(`${name}: not ADD, OBSERVE or DELETE: ${action.slice(0, 40)}`);
        filter.actions = list;
        break;
      }
      case "EQ_bizStep":
        filter.bizSteps = and(
          filter.bizSteps,
          pipeList(name, value).map((v) => normalCbv("bizStep", v)),
        );
        break;
      case "EQ_disposition":
        filter.dispositions = and(
          filter.dispositions,
          pipeList(name, value).map((v) => normalCbv("disposition", v)),
        );
        break;
      case "EQ_readPoint":
        filter.readPoints = and(filter.readPoints, pipeList(name, value).flatMap(locationForms));
        break;
      case "EQ_bizLocation":
        filter.bizLocations = and(filter.bizLocations, pipeList(name, value).flatMap(locationForms));
        break;
      case "EQ_eventID":
        filter.eventIds = pipeList(name, value);
        break;
      case "GE_eventTime":
        filter.eventTimeGe = time(name, value);
        break;
      case "LT_eventTime":
        filter.eventTimeLt = time(name, value);
        break;
      case "GE_recordTime":
        filter.recordTimeGe = time(name, value);
        break;
      case "LT_recordTime":
        filter.recordTimeLt = time(name, value);
        break;
      default: {
        const roles = MATCH_ROLES[name];
        if (roles !== undefined)
          epcs.push({ roles, values: pipeList(name, value).flatMap((v) => epcMatches(name, v)) });
      }
    }
  }
  if (epcs.length > 0) filter.epcs = epcs;
  const fingerprint = fingerprintOf(filter);
  const token = params.get("nextPageToken");
  return {
    filter,
    perPage: perPage(params.get("perPage")),
    afterSeq: token === undefined ? 0 : seqOf(readPageToken(token, fingerprint)),
    fingerprint,
  };
}

/** A read point or business location as written and, when it carries a GS1 key, as its canonical Digital Link. */
export function locationForms(value: string): string[] {
  const normal = normalEpc(value);
  return normal === value ? [value] : [value, normal];
}

/** perPage as given, at most MAX_PER_PAGE (the REST binding lets a server cap it). */
export function perPage(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PER_PAGE;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw bad("perPage: not a positive integer");
  return Math.min(Number(value), MAX_PER_PAGE);
}

export function fingerprintOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64url").slice(0, 12);
}

/** An opaque token: where the next page starts, and which query it belongs to. */
export function pageToken(position: number | string, fingerprint: string): string {
  return Buffer.from(JSON.stringify([1, fingerprint, position]), "utf8").toString("base64url");
}

export function readPageToken(token: string, fingerprint: string): number | string {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad("nextPageToken: not a token this service issued");
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== 1)
    throw bad("nextPageToken: not a token this service issued");
  if (decoded[1] !== fingerprint) throw bad("nextPageToken: issued for another query");
  const position: unknown = decoded[2];
  if (typeof position !== "number" && typeof position !== "string")
    throw bad("nextPageToken: not a token this service issued");
  return position;
}

function seqOf(position: number | string): number {
  if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 0)
    throw bad("nextPageToken: not a token this service issued");
  return position;
}
