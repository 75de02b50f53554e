/**
 * The EIP-712 typed data of a relayed anchor (`anchorWithSig`), field for field as the contract's
 * `ANCHOR_TYPEHASH` (tested against it in test/contracts/TraceAnchor.test.ts).
 *
 *   ANCHOR_TYPES                               the `Anchor` struct type, for ethers' signTypedData
 *   anchorDomain(chainId, verifyingContract)  the domain: name "TraceAnchor", version "1"
 */
export interface TypedField {
  readonly name: string;
  readonly type: string;
}

export const ANCHOR_TYPES: Record<string, TypedField[]> = {
  Anchor: [
    { name: "brandId", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "kind", type: "uint8" },
    { name: "leafCount", type: "uint64" },
    { name: "contentURI", type: "string" },
    { name: "submitter", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export function anchorDomain(
  chainId: bigint,
  verifyingContract: string,
): { name: string; version: string; chainId: bigint; verifyingContract: string } {
  return { name: "TraceAnchor", version: "1", chainId, verifyingContract };
}
