import { ANCHOR_TYPES as CORE_ANCHOR_TYPES } from "../../core/anchor-signature";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { setCode } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import type { BytesLike, Interface, TypedDataDomain, TypedDataField } from "ethers";
import type { ITraceAnchor, TraceAnchor } from "../../typechain-types";
import { IAccessControl__factory, IAccessControlDefaultAdminRules__factory } from "../../typechain-types";

/** Batch kinds, as the contract's `_KIND_IDENTITY` and `_KIND_TRACE`. */
export const KIND = { identity: 1, trace: 2 } as const;

/** Seconds a default-admin transfer waits before it can be accepted. */
export const ADMIN_DELAY = 3n * 24n * 60n * 60n;

export const BRAND_ID = 1n;
export const BRAND_NAME = "Acme Apparel";
export const BRAND_PREFIX = "9506000";
export const FACTORY = ethers.encodeBytes32String("factory");
export const LOGISTICS = ethers.encodeBytes32String("logistics");

export const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
export const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");

/**
 * Deploys the registry (deployer = default admin, 3-day delay), grants `registrar` the registrar role, registers
 * brand 1 (prefix BRAND_PREFIX, admin `brandAdmin`) and names `submitter` its "factory" submitter. `stranger`,
 * `relayer`, `secondBrandAdmin` and `secondSubmitter` hold nothing; tests register brand 2 for the last two.
 */
export async function deployTraceAnchorFixture() {
  const [deployer, registrar, brandAdmin, submitter, stranger, relayer, secondBrandAdmin, secondSubmitter, ...others] =
    await ethers.getSigners();
  if (deployer === undefined || registrar === undefined || brandAdmin === undefined || submitter === undefined) {
    throw new Error("not enough signers");
  }
  if (
    stranger === undefined ||
    relayer === undefined ||
    secondBrandAdmin === undefined ||
    secondSubmitter === undefined
  ) {
    throw new Error("not enough signers");
  }

  const registry: TraceAnchor = await ethers.deployContract("TraceAnchor", [ADMIN_DELAY, deployer.address]);
  await registry.waitForDeployment();

  await registry.connect(deployer).grantRole(REGISTRAR_ROLE, registrar.address);
  await registry.connect(registrar).registerBrand(BRAND_NAME, brandAdmin.address, [BRAND_PREFIX]);
  await registry.connect(brandAdmin).setSubmitter(BRAND_ID, submitter.address, FACTORY);

  const { chainId } = await ethers.provider.getNetwork();

  return {
    registry,
    chainId,
    deployer,
    registrar,
    brandAdmin,
    submitter,
    stranger,
    relayer,
    secondBrandAdmin,
    secondSubmitter,
    others,
  };
}

export type TraceAnchorFixture = Awaited<ReturnType<typeof deployTraceAnchorFixture>>;

/** A random bytes32, e.g. a record hash or a Merkle root. */
export function randomBytes32(): string {
  return ethers.hexlify(ethers.randomBytes(32));
}

/** An `ITraceAnchor.AnchorRequest` whose root is a hex string, so tests can read it back. */
export interface AnchorRequest extends ITraceAnchor.AnchorRequestStruct {
  root: string;
  kind: number;
  leafCount: number | bigint;
  contentURI: string;
}

/** An anchor request with sensible defaults: an identity batch of 3 leaves under a random root. */
export function anchorRequest(overrides: Partial<AnchorRequest> = {}): AnchorRequest {
  return { root: randomBytes32(), kind: KIND.identity, leafCount: 3, contentURI: "ipfs://batch", ...overrides };
}

/** TypeScript mirror of `TraceAnchor.leafOf`: OpenZeppelin's StandardMerkleTree leaf for ["bytes32"]. */
export function leafOf(recordHash: BytesLike): string {
  return ethers.keccak256(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32"], [recordHash])));
}

/** The EIP-712 type of a relayed anchor: the one definition in core, used by the CLI too. */
export const ANCHOR_TYPES: Record<string, TypedDataField[]> = CORE_ANCHOR_TYPES;

export async function anchorDomain(registry: TraceAnchor, overrides: TypedDataDomain = {}): Promise<TypedDataDomain> {
  const { chainId } = await ethers.provider.getNetwork();
  return {
    name: "TraceAnchor",
    version: "1",
    chainId,
    verifyingContract: await registry.getAddress(),
    ...overrides,
  };
}

export interface AnchorMessage {
  brandId: bigint;
  request: ITraceAnchor.AnchorRequestStruct;
  submitter: string;
  nonce: bigint;
  deadline: bigint;
}

export function anchorTypedData(message: AnchorMessage): Record<string, unknown> {
  const { brandId, request, submitter, nonce, deadline } = message;
  return {
    brandId,
    root: request.root,
    kind: request.kind,
    leafCount: request.leafCount,
    contentURI: request.contentURI,
    submitter,
    nonce,
    deadline,
  };
}

/** `signer`'s EIP-712 signature over `message` (the domain may be overridden to forge a wrong one). */
export async function signAnchor(
  signer: HardhatEthersSigner,
  registry: TraceAnchor,
  message: AnchorMessage,
  domainOverrides: TypedDataDomain = {},
): Promise<string> {
  return signer.signTypedData(await anchorDomain(registry, domainOverrides), ANCHOR_TYPES, anchorTypedData(message));
}

/** The EIP-712 digest the registry checks for `message`. */
export async function anchorDigest(registry: TraceAnchor, message: AnchorMessage): Promise<string> {
  return ethers.TypedDataEncoder.hash(await anchorDomain(registry), ANCHOR_TYPES, anchorTypedData(message));
}

/** ERC-165 interface id: XOR of the selectors `iface` declares beyond those of `inherited`. */
export function interfaceId(iface: Interface, inherited: Interface[] = []): string {
  const excluded = new Set(inherited.flatMap((i) => i.fragments.filter((f) => f.type === "function").map(selectorOf)));
  let id = 0;
  for (const fragment of iface.fragments) {
    if (fragment.type !== "function") continue;
    const selector = selectorOf(fragment);
    if (excluded.has(selector)) continue;
    id ^= Number.parseInt(selector.slice(2), 16);
  }
  return ethers.toBeHex(id >>> 0, 4);
}

function selectorOf(fragment: Interface["fragments"][number]): string {
  return ethers.id(fragment.format("sighash")).slice(0, 10);
}

export const INTERFACE_IDS = {
  IAccessControl: interfaceId(IAccessControl__factory.createInterface()),
  IAccessControlDefaultAdminRules: interfaceId(IAccessControlDefaultAdminRules__factory.createInterface(), [
    IAccessControl__factory.createInterface(),
  ]),
};

/**
 * Installs, at `address`, raw runtime code of an ERC-1271 wallet that approves exactly one digest:
 * `isValidSignature(hash, sig)` returns the magic value iff `hash == digest`, whatever `sig` is.
 * Test-only bytecode set through `hardhat_setCode`, so no test contract has to be added.
 *
 *   PUSH1 4 CALLDATALOAD PUSH32 digest EQ PUSH4 0x1626ba7e PUSH1 224 SHL MUL
 *   PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
 */
export async function installErc1271Wallet(address: string, digest: string): Promise<void> {
  const code = ethers.concat([
    "0x600435",
    "0x7f",
    digest,
    "0x14",
    "0x631626ba7e",
    "0x60e01b",
    "0x02",
    "0x600052",
    "0x60206000f3",
  ]);
  await setCode(address, code);
}

export interface AnchorView {
  kind: bigint;
  leafCount: bigint;
  anchoredAt: bigint;
  revokedAt: bigint;
}

/** `anchorOf` as a plain object, for deep equality. */
export async function readAnchor(registry: TraceAnchor, brandId: bigint, root: BytesLike): Promise<AnchorView> {
  const { kind, leafCount, anchoredAt, revokedAt } = await registry.anchorOf(brandId, root);
  return { kind, leafCount, anchoredAt, revokedAt };
}

export const NO_ANCHOR: AnchorView = { kind: 0n, leafCount: 0n, anchoredAt: 0n, revokedAt: 0n };
