/**
 * The CBV 2.0 event hash as core/event-hash.ts computed it before it was made faster (commit
 * c4dcd16), kept unchanged as the oracle of test/core/event-hash.test.ts's property test: the
 * fast implementation must write the same pre-hash string for every event. Not used by the service.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalDigitalLink } from "../../core/canonical-dl";
import { CBV_VOCABULARIES, isMeasurementTypeName, vocabularyOf, vocabularyTermUri } from "../../core/cbv";
import { isPlainObject, type JsonObject, type JsonValue } from "../../core/record";

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
  return `ni:///sha-256;${bytesToHex(sha256(utf8ToBytes(eventPreHash(event, options))))}?ver=${EVENT_HASH_VERSION}`;
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

/** `names`: the keys from the event down to `value` (list indexes left out), for vocabularyOf. */
function toNode(value: JsonValue, names: readonly string[], namespaces: Namespaces, ignore: ReadonlySet<string>): Node {
  if (Array.isArray(value)) {
    return node(
      "",
      "",
      value
        .filter((v) => v !== null)
        .map((v) => toNode(v, names, namespaces, NONE))
        .sort(compareChildren),
    );
  }
  if (isPlainObject(value)) {
    const children: Child[] = [];
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === null || v === undefined || COMMENTS.has(key) || ignore.has(key) || key === "@context") continue;
      const name = expandName(key, namespaces);
      if (COMMENTS.has(name)) continue;
      const child = toNode(v, [...names, key], namespaces, NONE);
      if (Array.isArray(v))
        for (const element of child.children as Node[]) children.push(node(name, element.value, element.children));
      else children.push(node(name, child.value, child.children));
    }
    return node(typeof value.type === "string" ? value.type : "", "", children.sort(compareChildren));
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
  const children = [...n.children];
  const lists = new Map<string, Node[]>();
  for (const element of n.children) {
    if (element.kind !== "node" || !element.name.endsWith("List")) continue;
    const items = lists.get(element.name) ?? [];
    items.push(node(element.name.slice(0, -4), element.value, element.children));
    lists.set(element.name, items);
    children.splice(children.indexOf(element), 1);
  }
  for (const [name, items] of lists) {
    children.push(TYPED_LISTS.has(name) ? node(name, "", items.map(pairOf)) : node(name, "", items));
  }
  const childEpcs = children.filter((c): c is Node => c.kind === "node" && c.name === "childEPCs");
  if (childEpcs.length > 0) {
    for (const c of childEpcs) children.splice(children.indexOf(c), 1);
    children.push(
      node(
        "childEPCs",
        "",
        childEpcs.map((c) => node("epc", c.value, [])),
      ),
    );
  }
  const corrected = children.map((c) =>
    c.kind === "node" && !(TYPED_LISTS.has(c.name) && lists.has(c.name)) ? correctStructure(c) : c,
  );
  let name = n.name;
  if (name === "inputEPC" || name === "outputEPC") name = "epc";
  else if (
    name === "inputQuantity" ||
    name === "outputQuantity" ||
    name === "childQuantity" ||
    (name === "quantity" && corrected.length > 0)
  ) {
    name = "quantityElement";
  }
  return node(name, n.value, corrected);
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
  let out = "";
  const extensions = takeExtensions(list);
  for (const [name, sub] of order) {
    const values: string[] = [];
    for (const child of list.filter((c): c is Node => c.kind === "node" && c.name === name)) {
      const text = fieldText(child, sub);
      if (text !== "") values.push(text);
      if (child.children.length === 0) list.splice(list.indexOf(child), 1);
    }
    out += values.sort(compareText).join("");
  }
  return extensions.length > 0 ? out + remainder(extensions, true) : out;
}

function fieldText(child: Node, sub: Order | undefined): string {
  const nested = sub === undefined ? "" : ordered(child.children, sub);
  let text = "";
  if (child.value !== "") {
    const value = pythonStrip(child.value);
    const lower = child.name.toLowerCase();
    text = lower.includes("time") && !lower.includes("offset") ? utcTimestamp(value) : canonicalValue(value);
    if (text !== "") text = `=${text}`;
  }
  return text === "" && nested === "" ? "" : `${child.name}${text}${nested}`;
}

/** A standard field's user extensions: namespaced names, taken out of `list` (not at event level). */
function takeExtensions(list: Child[]): Node[] {
  if (list.length <= 1) return [];
  if (list.some((c) => c.kind === "node" && (c.name.includes("eventTime") || c.name.includes("action")))) return [];
  const extensions = list.filter((c): c is Node => c.kind === "node" && c.name.includes("{") && c.name.includes("/}"));
  for (const e of extensions) list.splice(list.indexOf(e), 1);
  return extensions;
}

/** Whatever `ordered` did not write: ILMD, the typed lists, user extensions; as name=value, sorted. */
function remainder(list: readonly Child[], all = false): string {
  const children = all ? list : list.filter((c) => c.kind === "pair" || !NOT_HASHED.has(c.name));
  const values = children.map((c) => {
    if (c.kind === "pair") return remainder(c.items, true);
    const value = pythonStrip(c.value);
    return `${c.name}${value === "" ? "" : `=${canonicalValue(value)}`}${remainder(c.children, true)}`;
  });
  const sorted = values.length > 1 && !children.some((c) => c.kind === "node" && TYPED_ELEMENTS.includes(c.name));
  return (sorted ? values.sort(compareText) : values).join("");
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

/** CBV 1.x URNs → web URIs, numbers without trailing zeros, GS1 keys → canonical Digital Links. */
function canonicalValue(text: string): string {
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

function utcTimestamp(text: string): string {
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
  return text.replace(PY_STRIP, "");
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
