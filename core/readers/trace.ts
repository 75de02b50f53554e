/**
 * Trace batch readers: EPCIS 2.0 events, each validated with `validateEvent` (GS1's EPCIS schema
 * with TraceAnchor's amendments, core/epcis-validate.ts) and given its CBV 2.0 event hash id as
 * `eventID` when it has none (Protocol v1, "Event id"); nothing else in an event changes.
 *
 *   readEpcisDocument(source): AsyncGenerator<ReadEntry<EpcisEvent>>
 *     a JSON / JSON-LD EPCISDocument, read whole (documents are bounded; use NDJSON for streams).
 *     A bad document envelope (no @context, wrong type, no eventList, …) throws; bad events are entries.
 *     The document's @context names the namespaces of the events' extension fields.
 *   readEventNdjson(source): AsyncGenerator<ReadEntry<EpcisEvent>>   one event object per line
 */
import { ValidationError } from "../errors";
import { documentEvents, validateEvent } from "../epcis-validate";
import { withEventId } from "../event-hash";
import { isPlainObject, type EpcisEvent } from "../record";
import { numberedLines, openStream, sourceName, parseJsonLine } from "./source";
import type { ReadEntry, ReaderSource } from "./types";

export async function* readEpcisDocument(source: ReaderSource): AsyncGenerator<ReadEntry<EpcisEvent>> {
  const file = sourceName(source);
  const chunks: Buffer[] = [];
  for await (const chunk of openStream(source)) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  let text = Buffer.concat(chunks).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(
      `invalid JSON: ${(err as Error).message}`,
      { file, code: "EPCIS_SYNTAX" },
      { cause: err },
    );
  }
  let events: unknown[];
  try {
    events = documentEvents(doc);
  } catch (err) {
    if (err instanceof ValidationError) throw err.withLocation({ file });
    throw err;
  }
  const context = isPlainObject(doc) ? doc["@context"] : undefined;
  for (let eventIndex = 0; eventIndex < events.length; eventIndex++) {
    const event = events[eventIndex];
    const raw = JSON.stringify(event) ?? "";
    try {
      yield { ok: true, value: withEventId(validateEvent(event), { context }), raw, eventIndex };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      yield { ok: false, error: err.withLocation({ file, eventIndex }), raw, eventIndex };
    }
  }
}

export async function* readEventNdjson(source: ReaderSource): AsyncGenerator<ReadEntry<EpcisEvent>> {
  const file = sourceName(source);
  for await (const { line, text } of numberedLines(openStream(source))) {
    if (text.trim() === "") continue;
    try {
      const value = parseJsonLine(text);
      yield { ok: true, value: withEventId(validateEvent(value)), raw: text, line };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      yield { ok: false, error: err.withLocation({ file, line }), raw: text, line };
    }
  }
}
