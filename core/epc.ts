/**
 * EPC pure-identity and class URNs (GS1 Tag Data Standard) for the keys TraceAnchor reads.
 *
 *   parseEpcUrn(urn: string): EpcKey        sgtin, lgtin, sgtin pattern (class level), sscc, sgln
 *   formatEpcUrn(key: EpcKey): string       inverse; needs the company prefix, which a GTIN alone lacks
 *   sgtinUrn(gtin14, serial, companyPrefixLength) / lgtinUrn(gtin14, lot, companyPrefixLength)
 *   sgtinPatternUrn(gtin14, companyPrefixLength)
 *
 * URN forms: urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial,
 * urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot, urn:epc:idpat:sgtin:CompanyPrefix.IndicatorItemRef.*,
 * urn:epc:id:sscc:CompanyPrefix.SerialRef, urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension.
 * Serial, lot and extension escape " % & / < > ? as %22 %25 %26 %2F %3C %3E %3F.
 */
import { EpcUrnError } from "./errors";
import { gs1CheckDigit, isAi82, isCompanyPrefix, toGtin14 } from "./gs1";

export type EpcKey =
  | { readonly scheme: "sgtin"; readonly gtin: string; readonly serial: string; readonly companyPrefix: string }
  | { readonly scheme: "lgtin"; readonly gtin: string; readonly lot: string; readonly companyPrefix: string }
  | { readonly scheme: "sgtin-class"; readonly gtin: string; readonly companyPrefix: string }
  | { readonly scheme: "sscc"; readonly sscc: string; readonly companyPrefix: string }
  | {
      readonly scheme: "sgln";
      readonly gln: string;
      /** Absent when the URN's extension is "0" (no extension). */
      readonly extension?: string;
      readonly companyPrefix: string;
    };

const ESCAPED = /["%&/<>?]/g;
const DIGITS = /^[0-9]*$/;

export function parseEpcUrn(urn: string): EpcKey {
  const m = /^urn:epc:(id|class|idpat):([a-z]+):(.*)$/.exec(urn);
  if (m === null) throw fail(`not an EPC URN: ${JSON.stringify(urn)}`);
  const [, kind, scheme, body = ""] = m;
  // Serial, lot and extension may themselves contain "." (it is in character set 82 and not escaped).
  const parts = splitParts(body, scheme === "sscc" ? 2 : 3);
  const type = `${kind}:${scheme}`;
  switch (type) {
    case "id:sgtin":
    case "class:lgtin":
    case "idpat:sgtin": {
      if (parts.length !== 3)
        throw fail(`${type} URN needs CompanyPrefix.IndicatorItemRef.${type === "class:lgtin" ? "Lot" : "Serial"}`);
      const [cp = "", iir = "", tail = ""] = parts;
      const gtin = gtinFrom(cp, iir);
      if (type === "idpat:sgtin") {
        if (tail !== "*")
          throw fail("only class-level sgtin patterns (CompanyPrefix.IndicatorItemRef.*) are supported");
        return { scheme: "sgtin-class", gtin, companyPrefix: cp };
      }
      const value = unescape(tail, type === "id:sgtin" ? "serial" : "lot");
      return type === "id:sgtin"
        ? { scheme: "sgtin", gtin, serial: value, companyPrefix: cp }
        : { scheme: "lgtin", gtin, lot: value, companyPrefix: cp };
    }
    case "id:sscc": {
      const [cp = "", ref = ""] = parts;
      if (parts.length !== 2 || !isCompanyPrefix(cp) || !DIGITS.test(ref) || cp.length + ref.length !== 17) {
        throw fail("sscc URN needs CompanyPrefix.SerialReference totalling 17 digits");
      }
      // The extension digit leads the serial reference in the URN but the SSCC itself.
      const body17 = `${ref.slice(0, 1)}${cp}${ref.slice(1)}`;
      return { scheme: "sscc", sscc: `${body17}${gs1CheckDigit(body17)}`, companyPrefix: cp };
    }
    case "id:sgln": {
      const [cp = "", loc = "", ext = ""] = parts;
      if (parts.length !== 3 || !isCompanyPrefix(cp) || !DIGITS.test(loc) || cp.length + loc.length !== 12) {
        throw fail("sgln URN needs CompanyPrefix.LocationReference.Extension with 12 key digits");
      }
      const body12 = `${cp}${loc}`;
      const gln = `${body12}${gs1CheckDigit(body12)}`;
      const extension = unescape(ext, "extension");
      return extension === "0"
        ? { scheme: "sgln", gln, companyPrefix: cp }
        : { scheme: "sgln", gln, extension, companyPrefix: cp };
    }
    default:
      throw fail(`unsupported EPC URN type ${type}`);
  }
}

export function formatEpcUrn(key: EpcKey): string {
  const cp = key.companyPrefix;
  switch (key.scheme) {
    case "sgtin":
      return `urn:epc:id:sgtin:${gtinParts(key.gtin, cp)}.${escape(key.serial, "serial")}`;
    case "lgtin":
      return `urn:epc:class:lgtin:${gtinParts(key.gtin, cp)}.${escape(key.lot, "lot")}`;
    case "sgtin-class":
      return `urn:epc:idpat:sgtin:${gtinParts(key.gtin, cp)}.*`;
    case "sscc": {
      if (!/^[0-9]{18}$/.test(key.sscc) || !key.sscc.startsWith(cp, 1))
        throw fail("SSCC does not start with the company prefix");
      return `urn:epc:id:sscc:${cp}.${key.sscc.slice(0, 1)}${key.sscc.slice(1 + cp.length, 17)}`;
    }
    case "sgln": {
      if (!/^[0-9]{13}$/.test(key.gln) || !key.gln.startsWith(cp))
        throw fail("GLN does not start with the company prefix");
      return `urn:epc:id:sgln:${cp}.${key.gln.slice(cp.length, 12)}.${escape(key.extension ?? "0", "extension")}`;
    }
  }
}

export function sgtinUrn(gtin14: string, serial: string, companyPrefixLength: number): string {
  return formatEpcUrn({ scheme: "sgtin", gtin: gtin14, serial, companyPrefix: prefixOf(gtin14, companyPrefixLength) });
}

export function lgtinUrn(gtin14: string, lot: string, companyPrefixLength: number): string {
  return formatEpcUrn({ scheme: "lgtin", gtin: gtin14, lot, companyPrefix: prefixOf(gtin14, companyPrefixLength) });
}

export function sgtinPatternUrn(gtin14: string, companyPrefixLength: number): string {
  return formatEpcUrn({ scheme: "sgtin-class", gtin: gtin14, companyPrefix: prefixOf(gtin14, companyPrefixLength) });
}

function prefixOf(gtin14: string, length: number): string {
  const gtin = toGtin14(gtin14);
  if (!Number.isInteger(length) || length < 6 || length > 12) throw fail("company prefix length must be 6 to 12");
  return gtin.slice(1, 1 + length);
}

function gtinFrom(cp: string, indicatorItemRef: string): string {
  if (!isCompanyPrefix(cp) || !DIGITS.test(indicatorItemRef) || cp.length + indicatorItemRef.length !== 13) {
    throw fail("GTIN part needs a 6-12 digit CompanyPrefix and IndicatorItemRef totalling 13 digits");
  }
  const body13 = `${indicatorItemRef.slice(0, 1)}${cp}${indicatorItemRef.slice(1)}`;
  return `${body13}${gs1CheckDigit(body13)}`;
}

function gtinParts(gtin: string, cp: string): string {
  const g = toGtin14(gtin);
  if (!isCompanyPrefix(cp) || !g.startsWith(cp, 1)) throw fail(`GTIN ${g} does not carry company prefix ${cp}`);
  return `${cp}.${g.slice(0, 1)}${g.slice(1 + cp.length, 13)}`;
}

function escape(value: string, field: string): string {
  if (!isAi82(value)) throw fail(`${field} must be 1 to 20 characters of GS1 character set 82`, field);
  return value.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function unescape(value: string, field: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) throw fail(`bad %-escape in ${field}`, field);
  const decoded = value.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  if (!isAi82(decoded)) throw fail(`${field} must be 1 to 20 characters of GS1 character set 82`, field);
  return decoded;
}

function splitParts(body: string, count: number): string[] {
  const parts: string[] = [];
  let rest = body;
  while (parts.length < count - 1) {
    const dot = rest.indexOf(".");
    if (dot < 0) break;
    parts.push(rest.slice(0, dot));
    rest = rest.slice(dot + 1);
  }
  parts.push(rest);
  return parts;
}

function fail(reason: string, field?: string): EpcUrnError {
  return new EpcUrnError(reason, { code: "EPC_URN", field });
}
