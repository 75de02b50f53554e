/**
 * GS1 keys: GTIN check digits and normalisation, company-prefix matching, AI 82 character set.
 *
 *   gs1CheckDigit(digitsWithoutCheck: string): number      mod-10 check digit (GTIN, GLN, SSCC)
 *   isValidGtin(value: string): boolean                    GTIN-8/12/13/14 with a correct check digit
 *   toGtin14(value: string, field?): string                normalises; throws GtinError
 *   isCompanyPrefix(prefix: string): boolean               6..12 digits
 *   gtinMatchesPrefix(gtin14: string, prefix: string)      prefix compared after the indicator digit
 *   isAi82(value: string, maxLength?: number): boolean     GS1 AI encodable character set 82
 *   checkSerial / checkLot (value, field?): string         returns value or throws ValidationError
 */
import { GtinError, ValidationError } from "./errors";

export const GTIN_LENGTHS: readonly number[] = [8, 12, 13, 14];
/** Serial (AI 21), lot (AI 10) and CPV (AI 22) are at most 20 characters. */
export const AI82_MAX_LENGTH = 20;

const DIGITS = /^[0-9]+$/;
// AI encodable character set 82: ! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z
const AI82 = /^[!"%-?A-Z_a-z]*$/;

export function gs1CheckDigit(digitsWithoutCheck: string): number {
  if (!DIGITS.test(digitsWithoutCheck)) throw new GtinError("expected digits only", { code: "GS1_NOT_DIGITS" });
  let sum = 0;
  // Weights alternate 3,1,3,… starting from the rightmost digit (the one next to the check digit).
  for (let i = digitsWithoutCheck.length - 1, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += (digitsWithoutCheck.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

export function hasValidCheckDigit(digits: string): boolean {
  if (digits.length < 2 || !DIGITS.test(digits)) return false;
  return gs1CheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

export function isValidGtin(value: string): boolean {
  return GTIN_LENGTHS.includes(value.length) && hasValidCheckDigit(value);
}

/** Left-pads a GTIN-8, -12 or -13 to GTIN-14 after checking its check digit. */
export function toGtin14(value: string, field = "gtin"): string {
  if (typeof value !== "string" || !DIGITS.test(value)) {
    throw new GtinError(`GTIN must be digits only, got ${JSON.stringify(value)}`, { field, code: "GTIN_FORMAT" });
  }
  if (!GTIN_LENGTHS.includes(value.length)) {
    throw new GtinError(`GTIN must have 8, 12, 13 or 14 digits, got ${value.length}`, { field, code: "GTIN_LENGTH" });
  }
  const expected = gs1CheckDigit(value.slice(0, -1));
  if (expected !== value.charCodeAt(value.length - 1) - 48) {
    throw new GtinError(`GTIN ${value} has a bad check digit (expected ${expected})`, {
      field,
      code: "GTIN_CHECK_DIGIT",
    });
  }
  return value.padStart(14, "0");
}

export function isGtin14(value: string): boolean {
  return value.length === 14 && hasValidCheckDigit(value);
}

export function isCompanyPrefix(prefix: string): boolean {
  return prefix.length >= 6 && prefix.length <= 12 && DIGITS.test(prefix);
}

/**
 * Whether a GS1 company prefix owns a GTIN-14. The indicator digit (packaging level) is not part of
 * the company prefix, so comparison starts at the second digit.
 */
export function gtinMatchesPrefix(gtin14: string, prefix: string): boolean {
  if (!isCompanyPrefix(prefix)) {
    throw new ValidationError(`company prefix must be 6 to 12 digits, got ${JSON.stringify(prefix)}`, {
      field: "prefix",
      code: "GS1_PREFIX",
    });
  }
  if (!isGtin14(gtin14)) {
    throw new GtinError(`expected a GTIN-14 with a valid check digit, got ${JSON.stringify(gtin14)}`, {
      field: "gtin",
      code: "GTIN_FORMAT",
    });
  }
  return gtin14.startsWith(prefix, 1);
}

export function isAi82(value: string, maxLength = AI82_MAX_LENGTH): boolean {
  return value.length >= 1 && value.length <= maxLength && AI82.test(value);
}

function checkAi82(value: unknown, field: string, what: string): string {
  if (typeof value !== "string") {
    throw new ValidationError(`${what} must be a string`, { field, code: "GS1_AI82" });
  }
  if (value.length === 0 || value.length > AI82_MAX_LENGTH) {
    throw new ValidationError(`${what} must be 1 to ${AI82_MAX_LENGTH} characters, got ${value.length}`, {
      field,
      code: "GS1_AI82_LENGTH",
    });
  }
  if (!AI82.test(value)) {
    throw new ValidationError(`${what} ${JSON.stringify(value)} has characters outside GS1 character set 82`, {
      field,
      code: "GS1_AI82_CHARSET",
    });
  }
  return value;
}

export function checkSerial(value: unknown, field = "serial"): string {
  return checkAi82(value, field, "serial");
}

export function checkLot(value: unknown, field = "lot"): string {
  return checkAi82(value, field, "lot");
}
