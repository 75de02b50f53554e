/**
 * CBV 2.0 event hash ids: the id an EPCIS event without an `eventID` gets before it is anchored
 * (Protocol v1, "Event id"). Pure.
 *
 *   eventPreHash(event, options?): string          the canonical pre-hash string
 *   eventHashId(event, options?): string           "ni:///sha-256;<hex>?ver=CBV2.0" of it (RFC 6920)
 *   withEventId(event, options?): EpcisEvent       the event with its hash id as eventID, if it had none
 *   contextNamespaces(context): Namespaces          the prefixes a JSON-LD @context declares
 *
 * The algorithm is the CBV 2.0 one as its reference implementation computes it
 * (github.com/RalphTro/epcis-event-hash-generator, MIT): the fields in the canonical property
 * order, each as key=value with no separator; list elements and ILMD / extension fields sorted;
 * extension field names as {namespace}localName; standard vocabulary values (bare words, CBV 1.x
 * URNs) as their web URIs; EPCs and Digital Links as constrained canonical Digital Links;
 * numbers without trailing zeros; times in UTC with milliseconds; eventID, recordTime and
 * errorDeclaration left out. It reproduces the reference's output on its 19 example documents;
 * where the reference's Python behaves in a way no rule asks for, this module does what the rules
 * say instead (docs/epcis.md, "Event hash ids", lists each case).
 *
 * `options.context` is the @context of the document the event came from (its prefixes name the
 * extension namespaces); an event's own @context adds to it. The prefixes of GS1's EPCIS 2.0
 * context are always known.
 */
import { createHash } from "node:crypto";
import { canonicalDigitalLink } from "./canonical-dl";
import { CBV_VOCABULARIES, isMeasurementTypeName, vocabularyOf, vocabularyTermUri } from "./cbv";
import { isPlainObject, type EpcisEvent, type JsonObject, type JsonValue } from "./record";

export type Namespaces = Readonly<Record<string, string>>;

export interface EventHashOptions {
  /** The @context of the event's document. */
  readonly context?: unknown;
  /**
   * Top-level fields to leave out of the hash, by their name in the event (e.g. a repository's own
   * bookkeeping fields). TraceAnchor's readers pass none.
   */
  readonly ignoreFields?: readonly string[];
}

export const EVENT_HASH_VERSION = "CBV2.0";

/** The prefixes GS1's EPCIS 2.0 JSON-LD context defines, known to every document. */
export const EPCIS_CONTEXT_PREFIXES: Namespaces = {
  epcis: "https://ref.gs1.org/epcis/",
  cbv: "https://ref.gs1.org/cbv/",
  cbvmda: "urn:epcglobal:cbv:mda:",
  gs1: "https://gs1.org/voc/",
  rdfs: "http://www.w3.org/2000/01/rdf-schema#",
  owl: "http://www.w3.org/2002/07/owl#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
  dcterms: "http://purl.org/dc/terms/",
};

export function eventHashId(event: JsonObject, options: EventHashOptions = {}): string {
  const digest = createHash("sha256").update(eventPreHash(event, options), "utf8").digest("hex");
  return `ni:///sha-256;${digest}?ver=${EVENT_HASH_VERSION}`;
}

/** The event unchanged if it has an eventID; otherwise a copy with its hash id as eventID. */
export function withEventId<E extends EpcisEvent>(event: E, options: EventHashOptions = {}): E {
  if (typeof event.eventID === "string" && event.eventID !== "") return event;
  return { ...event, eventID: eventHashId(event, options) };
}

export function contextNamespaces(context: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of Array.isArray(context) ? context : [context]) {
    if (!isPlainObject(entry)) continue;
    for (const [prefix, iri] of Object.entries(entry)) {
      if (typeof iri === "string" && !prefix.startsWith("@") && !prefix.includes(":")) out[prefix] = iri;
    }
  }
  return out;
}

export function eventPreHash(event: JsonObject, options: EventHashOptions = {}): string {
  const namespaces: Namespaces = {
    ...EPCIS_CONTEXT_PREFIXES,
    ...contextNamespaces(options.context),
    ...contextNamespaces(event["@context"]),
  };
  const ignore = new Set(options.ignoreFields ?? []);
  const root = correctStructure(toNode(event, [], namespaces, ignore));
  return `eventType=${typeof event.type === "string" ? event.type : ""}${ordered(root.children, PROPERTY_ORDER)}${remainder(root.children)}`;
}

// ---------------------------------------------------------------------------------------------
// The event as the reference's tree: (name, value, children), JSON-LD names expanded

interface Node {
  readonly kind: "node";
  readonly name: string;
  readonly value: string;
  readonly children: Child[];
}

/** A bizTransaction, source or destination: its type and its identifier, in that order. */
interface Pair {
  readonly kind: "pair";
  readonly items: Node[];
}

type Child = Node | Pair;

const node = (name: string, value: string, children: Child[]): Node => ({ kind: "node", name, value, children });

/** Fields a comment is written in; never hashed. */
const COMMENTS = new Set(["comment", "rdfs:comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"]);
const TYPED_LISTS = new Set(["bizTransactionList", "sourceList", "destinationList"]);
const TYPED_ELEMENTS = ["bizTransaction", "source", "destination"];

/**
 * `names`: the keys from the event down to `value` (list indexes left out), for vocabularyOf; only
 * its first four matter (no vocabulary field is deeper than three keys), so it stops growing there.
 */
function toNode(value: JsonValue, names: readonly string[], namespaces: Namespaces, ignore: ReadonlySet<string>): Node {
  if (Array.isArray(value)) {
    const children: Node[] = [];
    value.forEach((v) => {
      if (v !== null) children.push(toNode(v, names, namespaces, NONE));
    });
    if (children.length > 1) children.sort(compareChildren);
    return node("", "", children);
  }
  if (isPlainObject(value)) {
    const children: Node[] = [];
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === null || v === undefined || COMMENTS.has(key) || ignore.has(key) || key === "@context") continue;
      const name = expandName(key, namespaces);
      if (COMMENTS.has(name)) continue;
      const path = names.length < 4 ? [...names, key] : names;
      if (Array.isArray(v)) {
        // Each element under the field's name. Not sorted here: this object's sort below orders them
        // (elements it finds equal are equal in every part, so their order cannot show).
        v.forEach((element) => {
          if (element === null) return;
          const child = toNode(element, path, namespaces, NONE);
          children.push(node(name, child.value, child.children));
        });
      } else {
        const child = toNode(v, path, namespaces, NONE);
        children.push(node(name, child.value, child.children));
      }
    }
    if (children.length > 1) children.sort(compareChildren);
    return node(typeof value.type === "string" ? value.type : "", "", children);
  }
  if (value === null) return node("", "", []);
  return node(
    "",
    typeof value === "string"
      ? (vocabularyTerm(value, names) ?? scalarText(value, namespaces))
      : scalarText(value, namespaces),
    [],
  );
}

const NONE: ReadonlySet<string> = new Set();

/** A bare standard term in a vocabulary field, as its URI (CBV 2.0: bare strings in JSON are CBV terms). */
function vocabularyTerm(value: string, names: readonly string[]): string | undefined {
  const name = names.length > 0 && names.length <= 3 ? vocabularyOf(names) : undefined;
  if (name === undefined) return undefined;
  const known = CBV_VOCABULARIES[name].terms.has(value) || (name === "measurementType" && isMeasurementTypeName(value));
  return known ? vocabularyTermUri(name, value) : undefined;
}

/** "example:field" → "{https://ns.example.com/epcis/}field" when the prefix is declared. */
function expandName(key: string, namespaces: Namespaces): string {
  const colon = key.indexOf(":");
  const iri = colon < 0 ? undefined : namespaces[key.slice(0, colon)];
  return iri === undefined ? key : `{${iri}}${key.slice(colon + 1)}`;
}

function scalarText(value: string | number | boolean, namespaces: Namespaces): string {
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  const colon = value.indexOf(":");
  const iri = colon < 0 ? undefined : namespaces[value.slice(0, colon)];
  return iri === undefined ? value : `${iri}${value.slice(colon + 1)}`;
}

/**
 * The reference's JSON-to-XML corrections: list elements take the singular name (epcList → epc,
 * quantityList → quantityElement, sensorElementList → sensorElement); bizTransaction, source and
 * destination elements become (type, identifier) pairs; childEPCs elements become epc.
 */
function correctStructure(n: Node): Node {
  // The children in their order, then the lists in the order their first element came, then childEPCs.
  const corrected: Child[] = [];
  let lists: Map<string, Node[]> | undefined;
  let childEpcs: Node[] | undefined;
  for (const element of n.children as readonly Node[]) {
    const name = element.name;
    if (name.endsWith("List")) {
      const item = node(name.slice(0, -4), element.value, element.children);
      const items = (lists ??= new Map<string, Node[]>()).get(name);
      if (items === undefined) lists.set(name, [item]);
      else items.push(item);
    } else if (name === "childEPCs") {
      (childEpcs ??= []).push(node("epc", element.value, []));
    } else {
      corrected.push(element.children.length === 0 ? renamed(element, 0) : correctStructure(element));
    }
  }
  if (lists !== undefined) {
    for (const [name, items] of lists)
      corrected.push(
        TYPED_LISTS.has(name) ? node(name, "", items.map(pairOf)) : correctStructure(node(name, "", items)),
      );
  }
  if (childEpcs !== undefined) corrected.push(node("childEPCs", "", childEpcs));
  return renamed(node(n.name, n.value, corrected), corrected.length);
}

/** `n` under the name the reference gives its kind of element, given how many children it has. */
function renamed(n: Node, children: number): Node {
  const name = n.name;
  if (name === "inputEPC" || name === "outputEPC") return node("epc", n.value, n.children);
  if (
    name === "inputQuantity" ||
    name === "outputQuantity" ||
    name === "childQuantity" ||
    (name === "quantity" && children > 0)
  )
    return node("quantityElement", n.value, n.children);
  return n;
}

function pairOf(element: Node): Pair {
  const fields = element.children.filter((c): c is Node => c.kind === "node");
  const type = fields.filter((f) => f.name === "type");
  return { kind: "pair", items: [...type, ...fields.filter((f) => f.name !== "type")] };
}

// ---------------------------------------------------------------------------------------------
// The pre-hash string

type Order = ReadonlyArray<readonly [string, Order | undefined]>;

const QUANTITY: Order = [
  [
    "quantityElement",
    [
      ["epcClass", undefined],
      ["quantity", undefined],
      ["uom", undefined],
    ],
  ],
];
const EPCS: Order = [["epc", undefined]];
const fields = (...names: string[]): Order => names.map((n) => [n, undefined] as const);

/**
 * The canonical property order. bizTransactionList, sourceList and destinationList are not in it:
 * the reference (whose examples fix the hash) adds them with the other fields, sorted.
 */
const PROPERTY_ORDER: Order = [
  ["eventTime", undefined],
  ["eventTimeZoneOffset", undefined],
  ["certificationInfo", undefined],
  ["parentID", undefined],
  ["epcList", EPCS],
  ["inputEPCList", EPCS],
  ["childEPCs", EPCS],
  ["quantityList", QUANTITY],
  ["childQuantityList", QUANTITY],
  ["inputQuantityList", QUANTITY],
  ["outputEPCList", EPCS],
  ["outputQuantityList", QUANTITY],
  ["action", undefined],
  ["transformationID", undefined],
  ["bizStep", undefined],
  ["disposition", undefined],
  ["persistentDisposition", fields("set", "unset")],
  ["readPoint", fields("id")],
  ["bizLocation", fields("id")],
  [
    "sensorElementList",
    [
      [
        "sensorElement",
        [
          [
            "sensorMetadata",
            fields(
              "time",
              "startTime",
              "endTime",
              "deviceID",
              "deviceMetadata",
              "rawData",
              "dataProcessingMethod",
              "bizRules",
            ),
          ],
          [
            "sensorReport",
            fields(
              "type",
              "exception",
              "deviceID",
              "deviceMetadata",
              "rawData",
              "dataProcessingMethod",
              "time",
              "microorganism",
              "chemicalSubstance",
              "value",
              "component",
              "stringValue",
              "booleanValue",
              "hexBinaryValue",
              "uriValue",
              "minValue",
              "maxValue",
              "meanValue",
              "sDev",
              "percRank",
              "percValue",
              "uom",
              "coordinateReferenceSystem",
            ),
          ],
        ],
      ],
    ],
  ],
];

/** Fields the hash leaves out, by the rules; @context is not event data. */
const NOT_HASHED = new Set(["recordTime", "eventID", "type", "errorDeclaration"]);

/**
 * The fields named in `order`, in that order, each element's string sorted among its namesakes.
 * Consumes what it writes: a field whose children were all written is removed from `list`, so
 * what is left afterwards goes to `remainder`. User extensions of a standard field (readPoint,
 * sensorReport, …) follow that field's own fields.
 */
function ordered(list: Child[], order: Order): string {
  const extensions = takeExtensions(list);
  // The children of each name in `order`, in list order: one pass instead of one per name.
  const index = orderIndex(order);
  const byName: (Node[] | undefined)[] = [];
  let found = false;
  for (const c of list) {
    if (c.kind !== "node") continue;
    const at = index.get(c.name);
    if (at === undefined) continue;
    const named = byName[at];
    if (named === undefined) byName[at] = [c];
    else named.push(c);
    found = true;
  }
  let out = "";
  if (found) {
    for (let at = 0; at < order.length; at++) {
      const named = byName[at];
      if (named === undefined) continue;
      const sub = (order[at] as Order[number])[1];
      if (named.length === 1) {
        out += fieldText(named[0] as Node, sub);
        continue;
      }
      const values: string[] = [];
      for (const child of named) {
        const text = fieldText(child, sub);
        if (text !== "") values.push(text);
      }
      out += values.sort(compareText).join("");
    }
    // A field whose children were all written is done; the rest goes to `remainder`.
    let kept = 0;
    for (const c of list) {
      if (c.kind === "node" && c.children.length === 0 && index.has(c.name)) continue;
      list[kept++] = c;
    }
    list.length = kept;
  }
  return extensions.length > 0 ? out + remainder(extensions, true) : out;
}

const orderIndexes = new WeakMap<Order, ReadonlyMap<string, number>>();

/** Each name of `order` and its position. */
function orderIndex(order: Order): ReadonlyMap<string, number> {
  let index = orderIndexes.get(order);
  if (index === undefined) orderIndexes.set(order, (index = new Map(order.map(([name], at) => [name, at]))));
  return index;
}

/** Whether a field's value is a time (written in UTC), by its name: cached, the names are the standard ones. */
const timeNames = new Map<string, boolean>();

function isTimeName(name: string): boolean {
  let time = timeNames.get(name);
  if (time === undefined) {
    const lower = name.toLowerCase();
    time = lower.includes("time") && !lower.includes("offset");
    if (timeNames.size < 1000) timeNames.set(name, time);
  }
  return time;
}

function fieldText(child: Node, sub: Order | undefined): string {
  const nested = sub === undefined ? "" : ordered(child.children, sub);
  let text = "";
  if (child.value !== "") {
    const value = pythonStrip(child.value);
    text = isTimeName(child.name) ? utcTimestamp(value) : canonicalValue(value);
    if (text !== "") text = `=${text}`;
  }
  return text === "" && nested === "" ? "" : `${child.name}${text}${nested}`;
}

/** A standard field's user extensions: namespaced names, taken out of `list` (not at event level). */
function takeExtensions(list: Child[]): Node[] {
  if (list.length <= 1) return [];
  let any = false;
  for (const c of list) {
    if (c.kind !== "node") continue;
    if (c.name.includes("eventTime") || c.name.includes("action")) return [];
    if (!any && isExtensionName(c.name)) any = true;
  }
  if (!any) return [];
  const extensions: Node[] = [];
  let kept = 0;
  for (const c of list) {
    if (c.kind === "node" && isExtensionName(c.name)) extensions.push(c);
    else list[kept++] = c;
  }
  list.length = kept;
  return extensions;
}

function isExtensionName(name: string): boolean {
  return name.includes("{") && name.includes("/}");
}

/** Whatever `ordered` did not write: ILMD, the typed lists, user extensions; as name=value, sorted. */
function remainder(list: readonly Child[], all = false): string {
  if (list.length === 0) return "";
  const values: string[] = [];
  let sorted = true;
  for (const c of list) {
    if (c.kind === "pair") {
      values.push(remainder(c.items, true));
      continue;
    }
    if (!all && NOT_HASHED.has(c.name)) continue;
    if (TYPED_ELEMENTS.includes(c.name)) sorted = false;
    const value = pythonStrip(c.value);
    values.push(`${c.name}${value === "" ? "" : `=${canonicalValue(value)}`}${remainder(c.children, true)}`);
  }
  return (values.length > 1 && sorted ? values.sort(compareText) : values).join("");
}

// ---------------------------------------------------------------------------------------------
// Values

const CBV_URNS: ReadonlyArray<readonly [string, string]> = [
  ["urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"],
  ["urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"],
  ["urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"],
  ["urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"],
  ["urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"],
];

/**
 * canonicalValue's answers, for the values events repeat (vocabulary URIs, read points, units):
 * emptied when full, so a stream of distinct identifiers only costs the lookup.
 */
const canonicalValues = new Map<string, string>();
const CANONICAL_VALUES_MAX = 4096;

/** CBV 1.x URNs → web URIs, numbers without trailing zeros, GS1 keys → canonical Digital Links. */
function canonicalValue(text: string): string {
  let value = canonicalValues.get(text);
  if (value === undefined) {
    value = canonicalValueOf(text);
    if (canonicalValues.size >= CANONICAL_VALUES_MAX) canonicalValues.clear();
    canonicalValues.set(text, value);
  }
  return value;
}

function canonicalValueOf(text: string): string {
  let value = text;
  if (value.includes("urn:epcglobal:cbv:")) for (const [urn, uri] of CBV_URNS) value = value.split(urn).join(uri);
  value = numeric(value);
  return canonicalDigitalLink(value) ?? value;
}

/** Python's float literal syntax (the reference parses every value with float()). */
const NUMBER = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

function numeric(text: string): string {
  if (!NUMBER.test(text)) return text;
  const n = Number(text.replace(/_/g, ""));
  return Number.isFinite(n) ? pythonNumber(n) : text;
}

/** Python's str() of the number: an integral value as an integer, otherwise repr(float). */
function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return BigInt(n).toString();
  const [mantissa = "", exponent = "0"] = n.toExponential().split("e");
  const e = Number(exponent);
  if (e >= -4 && e < 16) return n.toString();
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/**
 * A time in UTC with millisecond precision: "2023-01-18T11:04:03.1415+01:00" →
 * "2023-01-18T10:04:03.142Z" (CBV: round the third decimal up when the fourth is 5–9). Text that is
 * not an ISO 8601 date-time is left as it is. A time without offset is read as UTC.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** "2023-01-18T10:04:03.142Z": every valid such time is written as it is, and so is an invalid one. */
const UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function utcTimestamp(text: string): string {
  if (text.length === 24 && UTC_MILLIS.test(text)) return text;
  const m = ISO_TIME.exec(text);
  if (m === null) return text;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return text;
  const fraction = (m[7] ?? "").padEnd(4, "0");
  const millis = Number(fraction.slice(0, 3)) + (Number(fraction[3]) >= 5 ? 1 : 0);
  const zone = (m[8] ?? "Z").toUpperCase();
  let offsetMinutes = 0;
  if (zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    offsetMinutes =
      (zone.startsWith("-") ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
  }
  const utc = new Date(date.getTime() + millis - offsetMinutes * 60_000);
  return utc.toISOString();
}

/** Python's str.strip(): its whitespace (JavaScript's \s less U+FEFF, plus U+001C–U+001F and U+0085). */
const PY_SPACE = "[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "g");

function pythonStrip(text: string): string {
  const n = text.length;
  if (n === 0 || (!isPythonSpace(text.charCodeAt(0)) && !isPythonSpace(text.charCodeAt(n - 1)))) return text;
  return text.replace(PY_STRIP, "");
}

/** One character of PY_SPACE. */
function isPythonSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/**
 * Python's ordering of strings: by code point. JavaScript's < compares UTF-16 code units, which
 * differs only where a surrogate (a code point above U+FFFF) meets a unit from U+E000 up.
 */
function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (xs ? y : x) >= 0xe000) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Python's ordering of the (name, value, children) tuples. */
function compareChildren(a: Child, b: Child): number {
  if (a.kind === "pair" || b.kind === "pair") return 0;
  return compareText(a.name, b.name) || compareText(a.value, b.value) || compareLists(a.children, b.children);
}

function compareLists(a: readonly Child[], b: readonly Child[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareChildren(a[i] as Child, b[i] as Child);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
