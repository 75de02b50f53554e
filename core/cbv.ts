/**
 * The CBV 2.0 / GS1 Web Vocabulary code lists an EPCIS 2.0 JSON event may name by a bare word, and
 * their URI forms. The terms are read from GS1's EPCIS JSON Schema (core/schemas), whose enums are
 * the terms of GS1's EPCIS 2.0 JSON-LD context, so the validator and the event hash cannot disagree.
 *
 *   CBV_VOCABULARIES: Record<VocabularyName, Vocabulary>   terms, web URI prefix, URN prefix
 *   vocabularyTermUri(vocabulary, term): string            "shipping" → "https://ref.gs1.org/cbv/BizStep-shipping"
 *   vocabularyOf(path): VocabularyName | undefined         which vocabulary an event field's values use
 *   isMeasurementTypeName(value): boolean                  a GS1 Web Vocabulary style measurement type name
 */
import gs1Schema from "./schemas/EPCIS-JSON-Schema.json";

export type VocabularyName =
  | "bizStep"
  | "disposition"
  | "bizTransactionType"
  | "sourceDestType"
  | "errorReason"
  | "measurementType"
  | "sensorAlertType"
  | "component";

export interface Vocabulary {
  /** The name of the definition in GS1's schema that lists the terms. */
  readonly definition: string;
  /** What a term is, for error messages: "a CBV business step". */
  readonly description: string;
  /** Common terms, for error messages. */
  readonly examples: readonly string[];
  readonly terms: ReadonlySet<string>;
  /** A term's URI is this prefix followed by the term. */
  readonly uriPrefix: string;
  /** CBV 1.x URN prefix of the same terms, for the vocabularies that have one. */
  readonly urnPrefix?: string;
}

const CBV = "https://ref.gs1.org/cbv/";
const GS1_VOC = "https://gs1.org/voc/";

function vocabulary(
  definition: string,
  description: string,
  examples: readonly string[],
  uriPrefix: string,
  urnPrefix?: string,
): Vocabulary {
  const terms = new Set(schemaEnum(definition));
  const v = { definition, description, examples, terms, uriPrefix };
  return urnPrefix === undefined ? v : { ...v, urnPrefix };
}

export const CBV_VOCABULARIES: Readonly<Record<VocabularyName, Vocabulary>> = {
  bizStep: vocabulary(
    "bizStep",
    "a CBV business step",
    ["commissioning", "shipping", "receiving"],
    `${CBV}BizStep-`,
    "urn:epcglobal:cbv:bizstep:",
  ),
  disposition: vocabulary(
    "disposition",
    "a CBV disposition",
    ["active", "in_transit", "recalled"],
    `${CBV}Disp-`,
    "urn:epcglobal:cbv:disp:",
  ),
  bizTransactionType: vocabulary(
    "bizTransaction-type",
    "a CBV business transaction type",
    ["po", "inv", "desadv"],
    `${CBV}BTT-`,
    "urn:epcglobal:cbv:btt:",
  ),
  sourceDestType: vocabulary(
    "source-dest-type",
    "a CBV source/destination type",
    ["owning_party", "possessing_party", "location"],
    `${CBV}SDT-`,
    "urn:epcglobal:cbv:sdt:",
  ),
  errorReason: vocabulary(
    "error-reason",
    "a CBV error reason",
    ["did_not_occur", "incorrect_data"],
    `${CBV}ER-`,
    "urn:epcglobal:cbv:er:",
  ),
  measurementType: vocabulary(
    "measurementType",
    "a GS1 measurement type",
    ["Temperature", "RelativeHumidity", "Mass"],
    GS1_VOC,
  ),
  sensorAlertType: vocabulary(
    "sensorAlertType",
    "a GS1 sensor alert type",
    ["ALARM_CONDITION", "ERROR_CONDITION"],
    GS1_VOC,
  ),
  component: vocabulary("component", "a CBV sensor component", ["latitude", "longitude", "altitude"], `${CBV}Comp-`),
};

export function vocabularyTermUri(name: VocabularyName, term: string): string {
  return `${CBV_VOCABULARIES[name].uriPrefix}${term}`;
}

/**
 * The vocabulary of the field at `path` (the event's own keys, list indexes as numbers), e.g.
 * ["bizStep"], ["persistentDisposition", "set", 0], ["sourceList", 2, "type"],
 * ["sensorElementList", 0, "sensorReport", 1, "type"].
 */
export function vocabularyOf(path: readonly (string | number)[]): VocabularyName | undefined {
  const names = path.filter((p): p is string => typeof p === "string");
  const last = names[names.length - 1];
  const parent = names[names.length - 2];
  if (names.length === 1 && last === "bizStep") return "bizStep";
  if (names.length === 1 && last === "disposition") return "disposition";
  if (names.length === 2 && parent === "persistentDisposition" && (last === "set" || last === "unset"))
    return "disposition";
  if (names.length === 2 && last === "type" && parent === "bizTransactionList") return "bizTransactionType";
  if (names.length === 2 && last === "type" && (parent === "sourceList" || parent === "destinationList"))
    return "sourceDestType";
  if (names.length === 2 && last === "reason" && parent === "errorDeclaration") return "errorReason";
  if (names.length === 3 && names[0] === "sensorElementList" && parent === "sensorReport") {
    if (last === "type") return "measurementType";
    if (last === "exception") return "sensorAlertType";
    if (last === "component") return "component";
  }
  return undefined;
}

/**
 * GS1 adds measurement types to its Web Vocabulary (gs1:MeasurementType) after a schema is
 * published; their names follow one pattern (UpperCamelCase letters and digits, e.g.
 * "Radioactivity", "MassConcentration"). See amendment A3 in docs/epcis.md.
 */
export const MEASUREMENT_TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

export function isMeasurementTypeName(value: string): boolean {
  return MEASUREMENT_TYPE_NAME.test(value);
}

/** The bare-word alternative of a vocabulary definition in GS1's schema: `anyOf: [uri, {enum}]`. */
function schemaEnum(definition: string): string[] {
  const definitions: unknown = (gs1Schema as { definitions?: unknown }).definitions;
  const def = isRecord(definitions) ? definitions[definition] : undefined;
  const alternatives = isRecord(def) ? def.anyOf : undefined;
  if (Array.isArray(alternatives)) {
    for (const alternative of alternatives) {
      const values = isRecord(alternative) ? alternative.enum : undefined;
      if (Array.isArray(values) && values.every((v): v is string => typeof v === "string")) return values;
    }
  }
  throw new Error(`GS1's EPCIS schema has no term list in definitions.${definition}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
