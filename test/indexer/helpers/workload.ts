import { mine, mined, request, setUpBrand } from "./chain";
import type { Deployment } from "./chain";
import type { HardhatNode } from "./node";

/**
 * `batches` anchorMany transactions of `perBatch` anchors each, with `gap` empty blocks after each,
 * plus a revocation every tenth batch. Returns the number of events it made.
 */
export async function anchorWorkload(
  node: HardhatNode,
  d: Deployment,
  batches: number,
  perBatch: number,
  gap: number,
): Promise<number> {
  const brandId = await setUpBrand(d);
  const submitter = d.as(d.submitter);
  let events = 0;
  for (let i = 0; i < batches; i++) {
    const requests = Array.from({ length: perBatch }, (_, j) => request(`w-${i}-${j}`, BigInt(1 + j), 1 + (j % 2)));
    await mined(submitter.anchorMany(brandId, requests));
    events += perBatch;
    if (i % 10 === 9) {
      await mined(d.as(d.brandAdmin).revoke(brandId, requests[0]!.root, `revoked ${i}`));
      events++;
    }
    if (gap > 0) await mine(node, gap);
  }
  return events;
}
