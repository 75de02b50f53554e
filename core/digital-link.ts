/**
 * GS1 Digital Link URIs (uncompressed), for the keys TraceAnchor uses.
 *
 *   parseDigitalLink(uri: string): DigitalLinkKey   any http(s) base; AIs 01 (or gtin), 22 (cpv),
 *                                                  10 (or lot), 21 (or ser/serial); query ignored
 *   formatDigitalLink(key, base = "https://id.gs1.org"): string   always numeric AIs, canonical order
 *                                                  01/22/10/21, GTIN-14, values percent-encoded
 *   isDigitalLink(value: string): boolean
 *
 * Everything in the path before the `/01/` (or `/gtin/`) segment is the base (a resolver may live
 * under a sub-path). Values must be GS1 character set 82, at most 20 characters.
 */
import { DigitalLinkError, GtinError, ValidationError } from "./errors";
import { AI82_MAX_LENGTH, isAi82, toGtin14 } from "./gs1";

export interface DigitalLinkKey {
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
  /** Consumer product variant (AI 22). */
  readonly cpv?: string;
}

export interface ParsedDigitalLink extends DigitalLinkKey {
  /** Scheme, host and any path before the primary key, without a trailing slash. */
  readonly base: string;
}

type Qualifier = "cpv" | "lot" | "serial";

const PRIMARY = new Set(["01", "gtin"]);
const QUALIFIERS: Readonly<Record<string, Qualifier>> = {
  "22": "cpv",
  cpv: "cpv",
  "10": "lot",
  lot: "lot",
  "21": "serial",
  ser: "serial",
  serial: "serial",
};
const AI_OF: Readonly<Record<Qualifier, string>> = { cpv: "22", lot: "10", serial: "21" };
/** GS1 Digital Link fixes the order of key qualifiers after the GTIN. */
const ORDER: readonly Qualifier[] = ["cpv", "lot", "serial"];

export function parseDigitalLink(uri: string): ParsedDigitalLink {
  // Parsed by hand, not with URL: WHATWG URL would collapse a serial of "." or ".." as a dot segment.
  const m = /^(https?):\/\/([^/?#\s]+)([^?#\s]*)(?:\?[^#\s]*)?(?:#\S*)?$/i.exec(uri);
  if (m === null) throw new DigitalLinkError(`not an http(s) URI: ${JSON.stringify(uri)}`, { code: "DL_SYNTAX" });
  const [, scheme = "", host = "", pathname = ""] = m;
  const segments = pathname.split("/");
  const at = segments.findIndex((s, i) => i > 0 && PRIMARY.has(s));
  if (at < 0) throw new DigitalLinkError("Digital Link has no /01/{gtin} segment", { code: "DL_NO_GTIN", field: "01" });
  const rest = segments.slice(at);
  if (rest[rest.length - 1] === "") rest.pop();
  if (rest.length % 2 !== 0)
    throw new DigitalLinkError("Digital Link path has an AI without a value", { code: "DL_SYNTAX" });

  let gtin: string;
  try {
    gtin = toGtin14(decode(rest[1] ?? "", "01"), "01");
  } catch (err) {
    if (err instanceof GtinError)
      throw new DigitalLinkError(err.reason, { code: err.code, field: "01" }, { cause: err });
    throw err;
  }
  const values: Partial<Record<Qualifier, string>> = {};
  let lastRank = -1;
  for (let i = 2; i < rest.length; i += 2) {
    const ai = rest[i] as string;
    const q = QUALIFIERS[ai];
    if (q === undefined)
      throw new DigitalLinkError(`unsupported AI ${JSON.stringify(ai)} in path`, { code: "DL_AI", field: ai });
    const rank = ORDER.indexOf(q);
    if (rank <= lastRank) {
      throw new DigitalLinkError(`AI ${AI_OF[q]} is repeated or out of order (expected 22, 10, 21)`, {
        code: "DL_ORDER",
        field: AI_OF[q],
      });
    }
    lastRank = rank;
    const value = decode(rest[i + 1] as string, AI_OF[q]);
    if (!isAi82(value)) {
      throw new DigitalLinkError(
        `AI ${AI_OF[q]} value must be 1 to ${AI82_MAX_LENGTH} characters of GS1 character set 82`,
        { code: "DL_VALUE", field: AI_OF[q] },
      );
    }
    values[q] = value;
  }
  const base = `${scheme.toLowerCase()}://${host.toLowerCase()}${segments.slice(0, at).join("/")}`;
  return { base, gtin, ...values };
}

export function isDigitalLink(value: string): boolean {
  try {
    parseDigitalLink(value);
    return true;
  } catch (err) {
    if (err instanceof ValidationError) return false;
    throw err;
  }
}

export function formatDigitalLink(key: DigitalLinkKey, base = "https://id.gs1.org"): string {
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(base)) {
    throw new DigitalLinkError(`base must be an http(s) URI without query or fragment, got ${JSON.stringify(base)}`, {
      code: "DL_BASE",
    });
  }
  let path = `${base.replace(/\/+$/, "")}/01/${toGtin14(key.gtin, "gtin")}`;
  for (const q of ORDER) {
    const value = key[q];
    if (value === undefined) continue;
    if (!isAi82(value)) {
      throw new DigitalLinkError(`${q} must be 1 to ${AI82_MAX_LENGTH} characters of GS1 character set 82`, {
        code: "DL_VALUE",
        field: q,
      });
    }
    path += `/${AI_OF[q]}/${encode(value)}`;
  }
  return path;
}

/**
 * Percent-encodes everything outside RFC 3986 unreserved characters, and "." / ".." whole, which
 * generic URL handling would otherwise treat as dot segments.
 */
function encode(value: string): string {
  if (value === "." || value === "..") return value.replace(/\./g, "%2E");
  return value.replace(/[^A-Za-z0-9\-._~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

function decode(value: string, field: string): string {
  try {
    return decodeURIComponent(value);
  } catch (err) {
    throw new DigitalLinkError(
      `bad percent-encoding in ${JSON.stringify(value)}`,
      { code: "DL_SYNTAX", field },
      { cause: err },
    );
  }
}
