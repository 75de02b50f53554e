/**
 * `traceanchor qr`: one QR code per item of an identity batch, encoding its GS1 Digital Link URI under
 * the resolver base, as SVG or PNG files, plus a printable A4 sheet (HTML, print to paper or PDF).
 */
import fs from "node:fs";
import path from "node:path";
import QRCode from "qrcode";
import { openContentFile } from "../../core/content";
import { formatDigitalLink } from "../../core/digital-link";
import { contentFileName } from "../../core/content";
import { ConfigError, type Config } from "../lib/config";
import type { Output } from "../lib/output";

export interface QrFlags {
  content?: string;
  root?: string;
  out: string;
  format: string;
  base?: string;
  sheet: boolean;
  limit?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function safeFileName(gtin: string, lot: string | undefined, serial: string): string {
  // Serials may hold characters a file system will not take ("/", "*"...): keep it readable but safe.
  return [gtin, lot, serial]
    .filter((p): p is string => p !== undefined)
    .join("_")
    .replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Sheet cells: 5 × 7 per A4 page, 33 mm codes (GS1 recommends ≥ 10 mm modules-area for consumer scans). */
function sheetHtml(cells: Array<{ svg: string; label: string; uri: string }>): string {
  const items = cells.map((c) => `<figure>${c.svg}<figcaption>${escapeHtml(c.label)}</figcaption></figure>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TraceAnchor QR sheet</title>
<style>
@page { size: A4; margin: 10mm; }
body { margin: 0; font: 8pt/1.2 system-ui, sans-serif; }
main { display: grid; grid-template-columns: repeat(5, 1fr); gap: 4mm; }
figure { margin: 0; break-inside: avoid; text-align: center; }
figure svg { width: 33mm; height: 33mm; }
figcaption { word-break: break-all; }
</style></head>
<body><main>
${items}
</main></body></html>
`;
}

export async function qrCommand(config: Config, flags: QrFlags, out: Output): Promise<void> {
  if (flags.format !== "svg" && flags.format !== "png")
    throw new ConfigError(`--format must be svg or png, got "${flags.format}"`);
  const contentPath = flags.content
    ? path.resolve(config.cwd, flags.content)
    : flags.root
      ? path.join(config.contentDir, contentFileName(flags.root))
      : undefined;
  if (!contentPath) throw new ConfigError("give --content <file> or --root <0x…> (looked up in TRACE_CONTENT_DIR)");
  if (!fs.existsSync(contentPath)) throw new ConfigError(`no content file at ${contentPath}`);
  const base = flags.base ?? config.resolverBase;
  const limit = flags.limit === undefined ? Infinity : Number.parseInt(flags.limit, 10);
  const reader = await openContentFile(contentPath);
  if (reader.header.kind !== "identity")
    throw new ConfigError(`${contentPath} is a ${reader.header.kind} batch; QR codes are for identity batches`);

  const dir = path.resolve(config.cwd, flags.out);
  fs.mkdirSync(dir, { recursive: true });
  const cells: Array<{ svg: string; label: string; uri: string }> = [];
  let count = 0;
  for await (const { record } of reader.records) {
    if (count >= limit) break;
    if (record.kind !== "identity") continue;
    const { gtin, serial, lot } = record.item;
    const uri = formatDigitalLink({ gtin, serial, ...(lot === undefined ? {} : { lot }) }, base);
    const name = safeFileName(gtin, lot, serial);
    // Error correction M: survives scuffed packaging without making the code too dense for a 2 cm print.
    const options = { errorCorrectionLevel: "M" as const, margin: 2 };
    if (flags.format === "png")
      await QRCode.toFile(path.join(dir, `${name}.png`), uri, { ...options, type: "png", width: 512 });
    const svg = await QRCode.toString(uri, { ...options, type: "svg" });
    if (flags.format === "svg") fs.writeFileSync(path.join(dir, `${name}.svg`), svg);
    if (flags.sheet) cells.push({ svg, label: `${gtin} · ${lot ? `${lot} · ` : ""}${serial}`, uri });
    count++;
  }
  let sheet: string | undefined;
  if (flags.sheet) {
    sheet = path.join(dir, "sheet.html");
    fs.writeFileSync(sheet, sheetHtml(cells));
  }
  out.info(`${count} QR code(s) written to ${dir}${sheet ? `; printable A4 sheet ${sheet}` : ""}`);
  out.result({ count, out: dir, format: flags.format, base, ...(sheet ? { sheet } : {}) });
}
