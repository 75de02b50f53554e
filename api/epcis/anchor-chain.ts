/**
 * The capture worker's view of the chain (mirror/epcis/worker.ts `AnchorChain`) over ethers and
 * the TraceAnchor contract, with the service's signer (`serve`'s TRACE_PRIVATE_KEY or keystore).
 *
 *   createAnchorChain({ registry, signer, fromBlock?, confirmations? }): Promise<AnchorChain>
 *
 * `findAnchor` reads `anchorOf(brand, root)`, and for an anchored root its `Anchored` log (from
 * `fromBlock`, the contract's deployment block) for the transaction and block.
 */
import type { Signer } from "ethers";
import type { TraceAnchor } from "../../typechain-types";
import { KIND_CODE } from "../../core/record";
import type { AnchorChain, ChainAnchor } from "../../mirror/epcis/worker";

export interface AnchorChainOptions {
  /** The contract, connected to `signer`. */
  readonly registry: TraceAnchor;
  readonly signer: Signer;
  /** First block to look for Anchored logs in (the deployment block). */
  readonly fromBlock?: number;
  /** Blocks to wait after the one that mines the anchor (default 0: the receipt). */
  readonly confirmations?: number;
}

export class AnchorTxError extends Error {
  override readonly name = "AnchorTxError";
}

export async function createAnchorChain(options: AnchorChainOptions): Promise<AnchorChain> {
  const { registry, signer } = options;
  const account = await signer.getAddress();
  const fromBlock = options.fromBlock ?? 0;
  const confirmations = Math.max(1, (options.confirmations ?? 0) + 1);

  async function findAnchor(brandId: number, root: string): Promise<ChainAnchor | undefined> {
    const anchor = await registry.anchorOf(brandId, root);
    if (anchor.anchoredAt === 0n) return undefined;
    const logs = await registry.queryFilter(registry.filters.Anchored(brandId, root), fromBlock);
    const log = logs[0];
    if (log === undefined) throw new AnchorTxError(`brand ${brandId} root ${root} is anchored but has no Anchored log`);
    return { txHash: log.transactionHash, block: log.blockNumber };
  }

  async function sendAnchor(
    brandId: number,
    batch: { root: string; leafCount: number; contentURI: string },
    onSent: (txHash: string) => Promise<void>,
  ): Promise<ChainAnchor> {
    const tx = await registry.anchor(brandId, {
      root: batch.root,
      kind: KIND_CODE.trace,
      leafCount: batch.leafCount,
      contentURI: batch.contentURI,
    });
    await onSent(tx.hash);
    const receipt = await tx.wait(confirmations);
    if (receipt === null || receipt.status !== 1) throw new AnchorTxError(`anchor transaction ${tx.hash} failed`);
    return { txHash: receipt.hash, block: receipt.blockNumber };
  }

  return { account, findAnchor, sendAnchor };
}
