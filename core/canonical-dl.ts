/**
 * The constrained canonical GS1 Digital Link URI of a GS1 key, as the CBV 2.0 event hash writes
 * every identifier: EPC URIs, EPC class URIs, EPC pattern URIs and GS1 Digital Links (any domain,
 * short key names, query string, extra key qualifiers) all become `https://id.gs1.org/<AI>/<key>…`
 * with only the most fine-grained identification kept.
 *
 *   canonicalDigitalLink(uri: string): string | undefined   undefined when `uri` conveys no GS1 key
 *
 * Reimplements `dl_normaliser.normaliser` of the CBV reference implementation
 * (github.com/RalphTro/epcis-event-hash-generator, MIT), including its exact character sets and
 * its choices (e.g. a Digital Link whose serial is percent-encoded is left as it is), because the
 * event hash must match the reference's output byte for byte.
 */
import { gs1CheckDigit } from "./gs1";

/** A character of an EPC URI component: GS1 AI encodable set 82 in URN form. */
const EPC_CHAR = String.raw`(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])`;
/** A character of a CPI component reference: GS1 AI encodable set 39 in URN form. */
const CPI_CHAR = String.raw`(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])`;
/** A character the final syntax check allows in a Digital Link key or qualifier. */
const DL_CHAR = String.raw`[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]`;

/**
 * "<company prefix>.<reference>" with 6 to 12 prefix digits and `total` digits in all; `last` is
 * what the reference allows when the prefix has 12 digits (for some schemes an empty reference).
 */
function partitions(total: number, last = String.raw`\d{12}\.\d{${total - 12}}`): string {
  const parts: string[] = [];
  for (let gcp = 6; gcp <= 11; gcp++) parts.push(String.raw`\d{${gcp}}\.\d{${total - gcp}}`);
  parts.push(last);
  return `(?:${parts.join("|")})`;
}

/** "<company prefix>.<characters>" where prefix and characters together are at most `max` long. */
function variable(charClass: string, max: number): string {
  const parts: string[] = [];
  for (let gcp = 6; gcp <= 12; gcp++) parts.push(String.raw`\d{${gcp}}\.${charClass}{1,${max - gcp}}`);
  return `(?:${parts.join("|")})`;
}

const P13 = partitions(13);
const P12 = partitions(12, String.raw`\d{12}\.`);
const P12_DOUBLE_DOT = partitions(12, String.raw`\d{12}\.\.`);

interface EpcScheme {
  readonly pattern: RegExp;
  /** `body` is the URI after the scheme's prefix; `gcp` the digits before its first dot. */
  readonly convert: (body: string, gcp: string) => string;
}

/** The GTIN of an SGTIN-like body "<gcp>.<indicator><item ref>…": indicator digit first. */
function gtinOf(body: string, gcp: string, referenceDigits: number): string {
  const ref = body.slice(gcp.length + 1, gcp.length + 1 + referenceDigits);
  return withCheckDigit(`${ref.slice(0, 1)}${gcp}${ref.slice(1)}`);
}

/** "<gcp><reference>" of a body "<gcp>.<reference>…", `referenceDigits` long, with its check digit. */
function keyOf(body: string, gcp: string, referenceDigits: number, before = ""): string {
  return withCheckDigit(`${before}${gcp}${body.slice(gcp.length + 1, gcp.length + 1 + referenceDigits)}`);
}

function withCheckDigit(digits: string): string {
  return `${digits}${gs1CheckDigit(digits)}`;
}

/** What follows the n-th dot of `body`. */
function afterDot(body: string, n: number): string {
  let at = -1;
  for (let i = 0; i < n; i++) at = body.indexOf(".", at + 1);
  return body.slice(at + 1);
}

const DL = "https://id.gs1.org";

const EPC_SCHEMES: ReadonlyArray<readonly [string, EpcScheme]> = [
  [
    "urn:epc:id:sgtin:",
    {
      pattern: new RegExp(`^${P13}\\.${EPC_CHAR}{1,20}$`),
      convert: (b, g) => `${DL}/01/${gtinOf(b, g, 13 - g.length)}/21/${encode(afterDot(b, 2))}`,
    },
  ],
  [
    "urn:epc:id:sscc:",
    {
      pattern: new RegExp(`^${partitions(17)}$`),
      convert: (b, g) =>
        `${DL}/00/${withCheckDigit(`${b.slice(g.length + 1, g.length + 2)}${g}${b.slice(g.length + 2)}`)}`,
    },
  ],
  [
    "urn:epc:id:sgln:",
    {
      pattern: new RegExp(`^${P12}\\.${EPC_CHAR}{1,20}$`),
      convert: (b, g) => {
        const extension = afterDot(b, 2);
        const gln = keyOf(b, g, 12 - g.length);
        return extension === "0" ? `${DL}/414/${gln}` : `${DL}/414/${gln}/254/${encode(extension)}`;
      },
    },
  ],
  [
    "urn:epc:id:grai:",
    {
      pattern: new RegExp(`^${P12_DOUBLE_DOT}\\.${EPC_CHAR}{1,16}$`),
      convert: (b, g) => `${DL}/8003/${keyOf(b, g, 12 - g.length, "0")}${encode(afterDot(b, 2))}`,
    },
  ],
  [
    "urn:epc:id:giai:",
    {
      pattern: new RegExp(`^${variable(EPC_CHAR, 30)}$`),
      convert: (b, g) => `${DL}/8004/${g}${encode(afterDot(b, 1))}`,
    },
  ],
  [
    "urn:epc:id:gsrn:",
    {
      pattern: new RegExp(`^${partitions(17)}$`),
      convert: (b, g) => `${DL}/8018/${withCheckDigit(`${g}${afterDot(b, 1)}`)}`,
    },
  ],
  [
    "urn:epc:id:gsrnp:",
    {
      pattern: new RegExp(`^${partitions(17)}$`),
      convert: (b, g) => `${DL}/8017/${withCheckDigit(`${g}${afterDot(b, 1)}`)}`,
    },
  ],
  // The reference takes the serial as everything after the 12 key digits and two dots.
  [
    "urn:epc:id:gdti:",
    {
      pattern: new RegExp(`^${P12_DOUBLE_DOT}${EPC_CHAR}{1,20}$`),
      convert: (b, g) => `${DL}/253/${keyOf(b, g, 12 - g.length)}${encode(b.slice(14))}`,
    },
  ],
  [
    "urn:epc:id:cpi:",
    {
      pattern: new RegExp(`^${variable(CPI_CHAR, 30)}\\.\\d{1,12}$`),
      convert: (b, g) => {
        const last = b.lastIndexOf(".");
        return `${DL}/8010/${encode(`${g}${b.slice(g.length + 1, last)}`)}/8011/${b.slice(last + 1)}`;
      },
    },
  ],
  [
    "urn:epc:id:sgcn:",
    {
      pattern: new RegExp(`^${P12}\\.\\d{1,12}$`),
      convert: (b, g) => `${DL}/255/${keyOf(b, g, 12 - g.length)}${b.slice(14)}`,
    },
  ],
  [
    "urn:epc:id:ginc:",
    {
      pattern: new RegExp(`^${variable(EPC_CHAR, 30)}$`),
      convert: (b, g) => `${DL}/401/${g}${encode(afterDot(b, 1))}`,
    },
  ],
  [
    "urn:epc:id:gsin:",
    {
      pattern: new RegExp(`^${partitions(16)}$`),
      convert: (b, g) => `${DL}/402/${withCheckDigit(`${g}${afterDot(b, 1)}`)}`,
    },
  ],
  [
    "urn:epc:id:itip:",
    {
      pattern: new RegExp(`^${P13}\\.\\d{2}\\.\\d{2}\\.${EPC_CHAR}{1,20}$`),
      convert: (b, g) =>
        `${DL}/8006/${gtinOf(b, g, 13 - g.length)}${b.slice(15, 17)}${b.slice(18, 20)}/21/${encode(b.slice(21))}`,
    },
  ],
  [
    "urn:epc:id:upui:",
    {
      pattern: new RegExp(`^${P13}\\.${EPC_CHAR}{1,28}$`),
      convert: (b, g) => `${DL}/01/${gtinOf(b, g, 13 - g.length)}/235/${encode(b.slice(15))}`,
    },
  ],
  [
    "urn:epc:id:pgln:",
    { pattern: new RegExp(`^${P12}$`), convert: (b, g) => `${DL}/417/${keyOf(b, g, 12 - g.length)}` },
  ],
  [
    "urn:epc:class:lgtin:",
    {
      pattern: new RegExp(`^${P13}\\.${EPC_CHAR}{1,20}$`),
      convert: (b, g) => `${DL}/01/${gtinOf(b, g, 13 - g.length)}/10/${encode(b.slice(15))}`,
    },
  ],
  [
    "urn:epc:idpat:sgtin:",
    { pattern: new RegExp(`^${P13}\\.\\*$`), convert: (b, g) => `${DL}/01/${gtinOf(b, g, 13 - g.length)}` },
  ],
  [
    "urn:epc:idpat:grai:",
    {
      pattern: new RegExp(`^${P12_DOUBLE_DOT}\\.\\*$`),
      convert: (b, g) => `${DL}/8003/${keyOf(b, g, 12 - g.length, "0")}`,
    },
  ],
  [
    "urn:epc:idpat:gdti:",
    { pattern: new RegExp(`^${P12_DOUBLE_DOT}\\.\\*$`), convert: (b, g) => `${DL}/253/${keyOf(b, g, 12 - g.length)}` },
  ],
  [
    "urn:epc:idpat:sgcn:",
    { pattern: new RegExp(`^${P12_DOUBLE_DOT}\\.\\*$`), convert: (b, g) => `${DL}/255/${keyOf(b, g, 12 - g.length)}` },
  ],
  [
    "urn:epc:idpat:cpi:",
    {
      pattern: new RegExp(`^${variable(CPI_CHAR, 30)}\\.\\*$`),
      convert: (b, g) => `${DL}/8010/${encode(`${g}${b.slice(g.length + 1, b.lastIndexOf("."))}`)}`,
    },
  ],
  [
    "urn:epc:idpat:itip:",
    {
      pattern: new RegExp(`^${P13}\\.\\d{2}\\.\\d{2}\\.\\*$`),
      convert: (b, g) => `${DL}/8006/${gtinOf(b, g, 13 - g.length)}${b.slice(15, 17)}${b.slice(18, 20)}`,
    },
  ],
  [
    "urn:epc:idpat:upui:",
    { pattern: new RegExp(`^${P13}\\.\\*$`), convert: (b, g) => `${DL}/01/${gtinOf(b, g, 13 - g.length)}` },
  ],
];

const KEY_AIS =
  "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai";
const IS_DIGITAL_LINK = new RegExp(
  String.raw`^https?:(\/\/((([^\/?#]*)@)?([^\/?#:]*)(:([^\/?#]*))?))?((([^?#]*)(\/(${KEY_AIS})\/)(\d{4}[^\/]+)(\/[^/]+\/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?)|(\/[A-Za-z_-]{10}$))`,
);
/** Short key names and their AIs, replaced in this order. */
const SHORT_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["gtin", "01"],
  ["itip", "8006"],
  ["cpid", "8010"],
  ["gln", "414"],
  ["party", "417"],
  ["gsrnp", "8017"],
  ["gsrn", "8018"],
  ["gcn", "255"],
  ["sscc", "00"],
  ["gdti", "253"],
  ["ginc", "401"],
  ["gsin", "402"],
  ["grai", "8003"],
  ["giai", "8004"],
  ["cpv", "22"],
  ["lot", "10"],
  ["ser", "21"],
];
const ON_CANONICAL_DOMAIN =
  /^https:\/\/id.gs1.org\/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)\/(\d{4}[^/]+)(\/[^/]+\/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?/;
/** Where the key starts when the domain is replaced, in the reference's order of preference. */
const KEY_STARTS = [
  "00",
  "01",
  "253",
  "255",
  "401",
  "402",
  "414",
  "417",
  "8003",
  "8004",
  "8006",
  "8010",
  "8017",
  "8018",
].map((ai) => `/${ai}/`);
const CPV_LAST = new RegExp(String.raw`^https:\/\/id.gs1.org\/(?:8006\/\d{18}|01\/\d{14})\/22\/(${DL_CHAR}{0,20})$`);
const CPV_INNER = new RegExp(
  String.raw`^https:\/\/id.gs1.org\/(?:8006\/\d{18}|01\/\d{14})\/22\/([\x2F\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]{0,20})$`,
);
const LOT_AND_SERIAL = new RegExp(
  String.raw`^https:\/\/id.gs1.org\/(?:8006\/\d{18}|01\/\d{14})\/10\/(${DL_CHAR}{0,20})\/21\/(${DL_CHAR}{0,20})$`,
);
const CANONICAL: readonly RegExp[] = [
  String.raw`00\/\d{18}`,
  String.raw`01\/\d{14}\/21\/${DL_CHAR}{0,20}`,
  String.raw`01\/\d{14}\/10\/${DL_CHAR}{0,20}`,
  String.raw`01\/\d{14}`,
  String.raw`01\/\d{14}\/235\/${DL_CHAR}{0,28}`,
  String.raw`253\/\d{13}${DL_CHAR}{0,17}`,
  String.raw`255\/\d{13}\d{0,12}`,
  String.raw`401\/${DL_CHAR}{0,30}`,
  String.raw`402\/\d{17}`,
  String.raw`414\/\d{13}`,
  String.raw`414\/\d{13}\/254\/${DL_CHAR}{0,20}`,
  String.raw`417\/\d{13}`,
  String.raw`8003\/\d{14}${DL_CHAR}{0,16}`,
  String.raw`8004\/${DL_CHAR}{0,30}`,
  String.raw`8006\/\d{18}\/21\/${DL_CHAR}{0,20}`,
  String.raw`8006\/\d{18}\/10\/${DL_CHAR}{0,20}`,
  String.raw`8006\/\d{18}`,
  String.raw`8010\/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}\/8011\/\d{0,12}`,
  String.raw`8010\/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}`,
  String.raw`8017\/\d{18}`,
  String.raw`8018\/\d{18}`,
].map((key) => new RegExp(String.raw`^https:\/\/id.gs1.org\/${key}$`));

export function canonicalDigitalLink(uri: string): string | undefined {
  if (!uri.includes(".")) return undefined;
  for (const [prefix, scheme] of EPC_SCHEMES) {
    if (!uri.startsWith(prefix)) continue;
    const body = uri.slice(prefix.length);
    if (!scheme.pattern.test(body)) continue;
    return scheme.convert(body, body.slice(0, body.indexOf(".")));
  }
  if (!uri.startsWith("http") || !IS_DIGITAL_LINK.test(uri)) return undefined;
  let dl = uri.includes("?") ? uri.slice(0, uri.indexOf("?")) : uri;
  for (const [name, ai] of SHORT_NAMES) dl = dl.split(`/${name}/`).join(`/${ai}/`);
  if (!ON_CANONICAL_DOMAIN.test(dl)) {
    const start = KEY_STARTS.find((key) => dl.includes(key));
    if (start !== undefined) dl = `${DL}${dl.slice(dl.indexOf(start))}`;
  }
  if (!/^https:\/\/id.gs1.org\/01\/\d{14}/.test(dl)) {
    // Every "/01/" of the string is padded, as the reference does.
    if (/^https:\/\/id.gs1.org\/01\/\d{13}/.test(dl)) dl = dl.split("/01/").join("/01/0");
    else if (/^https:\/\/id.gs1.org\/01\/\d{12}/.test(dl)) dl = dl.split("/01/").join("/01/00");
    else if (/^https:\/\/id.gs1.org\/01\/\d{8}/.test(dl)) dl = dl.split("/01/").join("/01/000000");
  }
  const cpv = dl.indexOf("/22/");
  if (CPV_LAST.test(dl)) dl = dl.slice(0, cpv);
  else if (CPV_INNER.test(dl)) {
    const rest = dl.slice(cpv + 4);
    dl = `${dl.slice(0, cpv)}${rest.slice(rest.indexOf("/"))}`;
  }
  if (LOT_AND_SERIAL.test(dl)) {
    const lot = dl.indexOf("/10/");
    const rest = dl.slice(lot + 4);
    dl = `${dl.slice(0, lot)}${rest.slice(rest.indexOf("/"))}`;
  }
  return CANONICAL.some((re) => re.test(dl)) ? dl : undefined;
}

/** GS1 Digital Link 1.2 table 7-1: characters a key component must percent-encode (beyond URN escapes). */
function encode(component: string): string {
  return component.replace(/[!()*+,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
