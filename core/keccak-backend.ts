/** The contract every keccak256 implementation behind `core/keccak.ts` fulfils. */
export interface KeccakBackend {
  readonly name: string;
  /** Writes keccak256(data) to out[outOffset .. outOffset+32). `data` and `out` may overlap. */
  hashInto(data: Uint8Array, out: Uint8Array, outOffset: number): void;
  /** Writes keccak256(UTF-8 bytes of text) to out[outOffset .. outOffset+32). */
  hashUtf8Into(text: string, out: Uint8Array, outOffset: number): void;
  /** keccak256(keccak256(src[srcOffset .. +32))) — an OZ bytes32 leaf — into out[outOffset ..). */
  leafInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number): void;
  /** keccak256(src[first .. +32) ‖ src[second .. +32)) into out[outOffset ..). */
  pairInto(src: Uint8Array, first: number, second: number, out: Uint8Array, outOffset: number): void;
}
