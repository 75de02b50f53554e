import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import fc from "fast-check";
import { ethers } from "hardhat";
import type { TraceAnchor } from "../../typechain-types";
import type { AnchorRequest, AnchorView } from "../helpers/traceAnchor";
import {
  BRAND_ID,
  BRAND_PREFIX,
  FACTORY,
  LOGISTICS,
  NO_ANCHOR,
  REGISTRAR_ROLE,
  deployTraceAnchorFixture,
  readAnchor,
} from "../helpers/traceAnchor";

// Small pools, so that collisions (duplicate roots, taken prefixes, repeated admins) happen often.
// Actors are indices into [registrar, brandAdmin, submitter, stranger, relayer, secondBrandAdmin]; -1 is address(0).
const ACTOR_COUNT = 6;
const REGISTRAR = 0;
const BRAND_ADMIN = 1;
const SUBMITTER = 2;
const STRANGER = 3;
const RELAYER = 4;
const SECOND_BRAND_ADMIN = 5;
const OTHERS = [STRANGER, RELAYER, SECOND_BRAND_ADMIN];
const ZERO_ACCOUNT = -1;
const BRAND_IDS = [0n, 1n, 2n, 3n, 4n] as const;
const PREFIXES = [BRAND_PREFIX, "950600", "761234", "761234567890", "12345", "1234567890123", "95060a0"] as const;
const GTINS = ["09506000123452", "09506001234567", "07612345678903", "17612345678900"] as const;
const ROOTS = [ethers.id("root-a"), ethers.id("root-b"), ethers.id("root-c"), ethers.ZeroHash] as const;
const ROLES = [FACTORY, LOGISTICS, ethers.ZeroHash] as const;
const CONTENT_URI = "ipfs://model";
/** Stands for "the timestamp of the block the action lands in" until that block is known. */
const THIS_BLOCK = -1n;

type Action =
  | { type: "registerBrand"; from: number; name: string; admin: number; prefixes: string[] }
  | { type: "assignPrefix"; from: number; brandId: bigint; prefix: string }
  | { type: "releasePrefix"; from: number; prefix: string }
  | { type: "setSubmitter"; from: number; brandId: bigint; account: number; role: string }
  | { type: "removeSubmitter"; from: number; brandId: bigint; account: number }
  | { type: "transferBrandAdmin"; from: number; brandId: bigint; newAdmin: number }
  | { type: "acceptBrandAdmin"; from: number; brandId: bigint }
  | { type: "anchor"; from: number; brandId: bigint; request: AnchorRequest }
  | { type: "anchorMany"; from: number; brandId: bigint; requests: AnchorRequest[] }
  | { type: "revoke"; from: number; brandId: bigint; root: string };

type ExpectedEvent = [name: string, args: unknown[]];

/** A custom error the model predicts. */
class ModelRevert extends Error {
  constructor(
    readonly errorName: string,
    readonly args: unknown[],
  ) {
    super(errorName);
  }
}

/** TypeScript model of TraceAnchor's state; `apply` mutates it or throws the predicted ModelRevert. */
class Model {
  brandCount = 0n;
  readonly admins = new Map<bigint, string>();
  readonly pendingAdmins = new Map<bigint, string>();
  readonly prefixOwners = new Map<string, bigint>();
  readonly roles = new Map<string, string>();
  readonly anchors = new Map<string, AnchorView>();
  events: ExpectedEvent[] = [];

  constructor(private readonly registrar: string) {}

  clone(): Model {
    const copy = new Model(this.registrar);
    copy.brandCount = this.brandCount;
    for (const [k, v] of this.admins) copy.admins.set(k, v);
    for (const [k, v] of this.pendingAdmins) copy.pendingAdmins.set(k, v);
    for (const [k, v] of this.prefixOwners) copy.prefixOwners.set(k, v);
    for (const [k, v] of this.roles) copy.roles.set(k, v);
    for (const [k, v] of this.anchors) copy.anchors.set(k, { ...v });
    return copy;
  }

  admin(brandId: bigint): string {
    return this.admins.get(brandId) ?? ethers.ZeroAddress;
  }

  pendingAdmin(brandId: bigint): string {
    return this.pendingAdmins.get(brandId) ?? ethers.ZeroAddress;
  }

  prefixOwner(prefix: string): bigint {
    return this.prefixOwners.get(prefix) ?? 0n;
  }

  role(brandId: bigint, account: string): string {
    return this.roles.get(`${brandId}/${account}`) ?? ethers.ZeroHash;
  }

  anchor(brandId: bigint, root: string): AnchorView {
    return this.anchors.get(`${brandId}/${root}`) ?? NO_ANCHOR;
  }

  brandOfGtin(gtin: string): bigint {
    for (let length = 12; length >= 6; --length) {
      const owner = this.prefixOwner(gtin.slice(1, 1 + length));
      if (owner !== 0n) return owner;
    }
    return 0n;
  }

  /** Replaces THIS_BLOCK with the timestamp of the block the action was mined in. */
  stamp(timestamp: bigint): void {
    for (const stored of this.anchors.values()) {
      if (stored.anchoredAt === THIS_BLOCK) stored.anchoredAt = timestamp;
      if (stored.revokedAt === THIS_BLOCK) stored.revokedAt = timestamp;
    }
  }

  apply(action: Action, sender: string, address: (i: number) => string): void {
    switch (action.type) {
      case "registerBrand": {
        this.onlyRegistrar(sender);
        if (action.name === "") throw new ModelRevert("TraceAnchorEmptyName", []);
        const admin = address(action.admin);
        if (admin === ethers.ZeroAddress) throw new ModelRevert("TraceAnchorInvalidAdmin", [admin]);
        const brandId = ++this.brandCount;
        this.admins.set(brandId, admin);
        this.events.push(["BrandRegistered", [brandId, admin, action.name]]);
        for (const prefix of action.prefixes) this.assignPrefix(brandId, prefix);
        return;
      }
      case "assignPrefix":
        this.onlyRegistrar(sender);
        if (this.admin(action.brandId) === ethers.ZeroAddress) {
          throw new ModelRevert("TraceAnchorUnknownBrand", [action.brandId]);
        }
        this.assignPrefix(action.brandId, action.prefix);
        return;
      case "releasePrefix": {
        this.onlyRegistrar(sender);
        const owner = this.prefixOwner(action.prefix);
        if (owner === 0n) throw new ModelRevert("TraceAnchorPrefixNotAssigned", [action.prefix]);
        this.prefixOwners.delete(action.prefix);
        this.events.push(["PrefixReleased", [owner, action.prefix]]);
        return;
      }
      case "setSubmitter": {
        this.onlyBrandAdmin(action.brandId, sender);
        if (action.role === ethers.ZeroHash) throw new ModelRevert("TraceAnchorInvalidRole", [action.role]);
        const account = address(action.account);
        this.roles.set(`${action.brandId}/${account}`, action.role);
        this.events.push(["SubmitterRoleSet", [action.brandId, account, action.role]]);
        return;
      }
      case "removeSubmitter": {
        this.onlyBrandAdmin(action.brandId, sender);
        const account = address(action.account);
        this.onlySubmitter(action.brandId, account);
        this.roles.delete(`${action.brandId}/${account}`);
        this.events.push(["SubmitterRemoved", [action.brandId, account]]);
        return;
      }
      case "transferBrandAdmin": {
        this.onlyBrandAdmin(action.brandId, sender);
        const newAdmin = address(action.newAdmin);
        this.pendingAdmins.set(action.brandId, newAdmin);
        this.events.push(["BrandAdminTransferStarted", [action.brandId, sender, newAdmin]]);
        return;
      }
      case "acceptBrandAdmin": {
        if (this.pendingAdmin(action.brandId) !== sender) {
          throw new ModelRevert("TraceAnchorUnauthorizedPendingAdmin", [sender, action.brandId]);
        }
        const previous = this.admin(action.brandId);
        this.admins.set(action.brandId, sender);
        this.pendingAdmins.delete(action.brandId);
        this.events.push(["BrandAdminTransferred", [action.brandId, previous, sender]]);
        return;
      }
      case "anchor":
        this.onlySubmitter(action.brandId, sender);
        this.anchorOne(action.brandId, action.request, sender);
        return;
      case "anchorMany":
        this.onlySubmitter(action.brandId, sender);
        for (const request of action.requests) this.anchorOne(action.brandId, request, sender);
        return;
      case "revoke": {
        this.onlyBrandAdmin(action.brandId, sender);
        const stored = this.anchors.get(`${action.brandId}/${action.root}`);
        if (stored === undefined) throw new ModelRevert("TraceAnchorNotAnchored", [action.brandId, action.root]);
        if (stored.revokedAt !== 0n) throw new ModelRevert("TraceAnchorAlreadyRevoked", [action.brandId, action.root]);
        stored.revokedAt = THIS_BLOCK;
        this.events.push(["Revoked", [action.brandId, action.root, sender, "model"]]);
        return;
      }
    }
  }

  private onlyRegistrar(sender: string): void {
    if (sender !== this.registrar) throw new ModelRevert("AccessControlUnauthorizedAccount", [sender, REGISTRAR_ROLE]);
  }

  private onlyBrandAdmin(brandId: bigint, sender: string): void {
    if (this.admin(brandId) !== sender) throw new ModelRevert("TraceAnchorUnauthorizedBrandAdmin", [sender, brandId]);
  }

  private onlySubmitter(brandId: bigint, account: string): void {
    if (this.role(brandId, account) === ethers.ZeroHash) {
      throw new ModelRevert("TraceAnchorUnauthorizedSubmitter", [account, brandId]);
    }
  }

  private assignPrefix(brandId: bigint, prefix: string): void {
    if (!/^[0-9]{6,12}$/.test(prefix)) throw new ModelRevert("TraceAnchorInvalidPrefix", [prefix]);
    const owner = this.prefixOwner(prefix);
    if (owner !== 0n) throw new ModelRevert("TraceAnchorPrefixTaken", [prefix, owner]);
    this.prefixOwners.set(prefix, brandId);
    this.events.push(["PrefixAssigned", [brandId, prefix]]);
  }

  private anchorOne(brandId: bigint, request: AnchorRequest, submitter: string): void {
    const leafCount = BigInt(request.leafCount);
    if (request.kind !== 1 && request.kind !== 2) throw new ModelRevert("TraceAnchorInvalidKind", [request.kind]);
    if (request.root === ethers.ZeroHash || leafCount === 0n) {
      throw new ModelRevert("TraceAnchorEmptyBatch", [request.root, leafCount]);
    }
    const key = `${brandId}/${request.root}`;
    if (this.anchors.has(key)) throw new ModelRevert("TraceAnchorAlreadyAnchored", [brandId, request.root]);
    this.anchors.set(key, { kind: BigInt(request.kind), leafCount, anchoredAt: THIS_BLOCK, revokedAt: 0n });
    this.events.push(["Anchored", [brandId, request.root, submitter, BigInt(request.kind), leafCount, CONTENT_URI]]);
  }
}

function send(
  registry: TraceAnchor,
  action: Action,
  address: (i: number) => string,
): Promise<ContractTransactionResponse> {
  switch (action.type) {
    case "registerBrand":
      return registry.registerBrand(action.name, address(action.admin), action.prefixes);
    case "assignPrefix":
      return registry.assignPrefix(action.brandId, action.prefix);
    case "releasePrefix":
      return registry.releasePrefix(action.prefix);
    case "setSubmitter":
      return registry.setSubmitter(action.brandId, address(action.account), action.role);
    case "removeSubmitter":
      return registry.removeSubmitter(action.brandId, address(action.account));
    case "transferBrandAdmin":
      return registry.transferBrandAdmin(action.brandId, address(action.newAdmin));
    case "acceptBrandAdmin":
      return registry.acceptBrandAdmin(action.brandId);
    case "anchor":
      return registry.anchor(action.brandId, action.request);
    case "anchorMany":
      return registry.anchorMany(action.brandId, action.requests);
    case "revoke":
      return registry.revoke(action.brandId, action.root, "model");
  }
}

/** Everything the model predicts, read back from the contract's views (or from the model). */
async function snapshot(
  read: {
    brandCount: () => Promise<bigint>;
    admin: (brandId: bigint) => Promise<string>;
    pendingAdmin: (brandId: bigint) => Promise<string>;
    prefixOwner: (prefix: string) => Promise<bigint>;
    brandOfGtin: (gtin: string) => Promise<bigint>;
    role: (brandId: bigint, account: string) => Promise<string>;
    anchor: (brandId: bigint, root: string) => Promise<AnchorView>;
  },
  brandIds: bigint[],
  accounts: string[],
) {
  const pairs = <T>(xs: readonly T[]) => brandIds.flatMap((brandId) => xs.map((x) => [brandId, x] as const));
  const [brandCount, admins, pendingAdmins, prefixOwners, gtins, roles, anchors] = await Promise.all([
    read.brandCount(),
    Promise.all(brandIds.map(read.admin)),
    Promise.all(brandIds.map(read.pendingAdmin)),
    Promise.all(PREFIXES.map(read.prefixOwner)),
    Promise.all(GTINS.map(read.brandOfGtin)),
    Promise.all(pairs(accounts).map(([brandId, account]) => read.role(brandId, account))),
    Promise.all(pairs(ROOTS).map(([brandId, root]) => read.anchor(brandId, root))),
  ]);
  return { brandCount, admins, pendingAdmins, prefixOwners, gtins, roles, anchors };
}

const actor = fc.integer({ min: 0, max: ACTOR_COUNT - 1 });
const target = fc.integer({ min: ZERO_ACCOUNT, max: ACTOR_COUNT - 1 });
/** Mostly one of `preferred` (so that actions often succeed), sometimes anyone. */
const favour = (preferred: number[], anyone: fc.Arbitrary<number> = actor) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...preferred) }, { weight: 1, arbitrary: anyone });
const brandIdArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1n, 2n) },
  { weight: 1, arbitrary: fc.constantFrom(...BRAND_IDS) },
);
const prefix = fc.constantFrom(...PREFIXES);
/** Mostly valid requests (kind 1..2, leafCount 1..3, non-zero root), sometimes kind 0/3, leafCount 0, root 0. */
const requestArbitrary: fc.Arbitrary<AnchorRequest> = fc.record({
  root: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ROOTS.slice(0, 3)) },
    { weight: 1, arbitrary: fc.constantFrom(...ROOTS) },
  ),
  kind: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
  ),
  leafCount: fc.oneof(
    { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: 3n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 3n }) },
  ),
  contentURI: fc.constant(CONTENT_URI),
});

/** Mostly a (brand, account) pair that holds the right, sometimes anything. */
const scoped = (pairs: Array<[bigint, number]>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pairs) },
    { weight: 1, arbitrary: fc.tuple(brandIdArbitrary, actor) },
  );
const asAdmin = scoped([
  [1n, BRAND_ADMIN],
  [2n, SECOND_BRAND_ADMIN],
]);
const asSubmitter = scoped([
  [1n, SUBMITTER],
  [2n, RELAYER],
]);
const asCandidate = scoped([
  [1n, STRANGER],
  [2n, STRANGER],
]);

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("registerBrand" as const),
      from: favour([REGISTRAR]),
      name: fc.constantFrom("Globex", "Globex", ""),
      admin: favour([SECOND_BRAND_ADMIN, BRAND_ADMIN], target),
      prefixes: fc.array(prefix, { maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("assignPrefix" as const),
      from: favour([REGISTRAR]),
      brandId: brandIdArbitrary,
      prefix,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant("releasePrefix" as const), from: favour([REGISTRAR]), prefix }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(asAdmin, favour([SUBMITTER, ...OTHERS], target), fc.constantFrom(...ROLES))
      .map(([[brandId, from], account, role]): Action => ({ type: "setSubmitter", from, brandId, account, role })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(asAdmin, favour([SUBMITTER, RELAYER], target))
      .map(([[brandId, from], account]): Action => ({ type: "removeSubmitter", from, brandId, account })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(asAdmin, favour([STRANGER], target))
      .map(([[brandId, from], newAdmin]): Action => ({ type: "transferBrandAdmin", from, brandId, newAdmin })),
  },
  {
    weight: 2,
    arbitrary: asCandidate.map(([brandId, from]): Action => ({ type: "acceptBrandAdmin", from, brandId })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(asSubmitter, requestArbitrary)
      .map(([[brandId, from], request]): Action => ({ type: "anchor", from, brandId, request })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(asSubmitter, fc.array(requestArbitrary, { maxLength: 3 }))
      .map(([[brandId, from], requests]): Action => ({ type: "anchorMany", from, brandId, requests })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(asAdmin, fc.constantFrom(...ROOTS))
      .map(([[brandId, from], root]): Action => ({ type: "revoke", from, brandId, root })),
  },
);

describe("TraceAnchor model", function () {
  this.timeout(300_000);

  it("agrees with a TypeScript model on random action sequences", async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArbitrary, { minLength: 15, maxLength: 30, size: "max" }), async (actions) => {
        const { registry, registrar, brandAdmin, submitter, stranger, relayer, secondBrandAdmin } =
          await loadFixture(deployTraceAnchorFixture);
        const actors: HardhatEthersSigner[] = [registrar, brandAdmin, submitter, stranger, relayer, secondBrandAdmin];
        const accounts = actors.map((a) => a.address);
        const address = (i: number): string =>
          i === ZERO_ACCOUNT ? ethers.ZeroAddress : (accounts[i] ?? ethers.ZeroAddress);

        // The fixture's state.
        let model = new Model(registrar.address);
        model.apply(
          { type: "registerBrand", from: 0, name: "Acme", admin: 1, prefixes: [BRAND_PREFIX] },
          registrar.address,
          address,
        );
        model.apply(
          { type: "setSubmitter", from: 1, brandId: BRAND_ID, account: 2, role: FACTORY },
          brandAdmin.address,
          address,
        );
        model.events = [];

        // Every run starts with a second brand whose submitter is the relayer, then goes random.
        const prelude: Action[] = [
          { type: "registerBrand", from: REGISTRAR, name: "Globex", admin: SECOND_BRAND_ADMIN, prefixes: ["761234"] },
          { type: "setSubmitter", from: SECOND_BRAND_ADMIN, brandId: 2n, account: RELAYER, role: LOGISTICS },
        ];
        for (const action of [...prelude, ...actions]) {
          const signer = actors[action.from];
          if (signer === undefined) throw new Error(`no actor ${action.from}`);
          const next = model.clone();
          let predicted: ModelRevert | undefined;
          try {
            next.apply(action, signer.address, address);
          } catch (error) {
            if (!(error instanceof ModelRevert)) throw error;
            predicted = error;
          }

          const tx = send(registry.connect(signer), action, address);
          if (predicted !== undefined) {
            await expect(tx, `${action.type} should revert`)
              .to.be.revertedWithCustomError(registry, predicted.errorName)
              .withArgs(...predicted.args);
          } else {
            const receipt = await (await tx).wait();
            if (receipt === null) throw new Error("no receipt");
            const block = await ethers.provider.getBlock(receipt.blockNumber);
            if (block === null) throw new Error("no block");
            next.stamp(BigInt(block.timestamp));
            const emitted = receipt.logs.flatMap((log) => {
              const parsed = registry.interface.parseLog(log);
              return parsed === null ? [] : [[parsed.name, [...parsed.args]] as ExpectedEvent];
            });
            expect(emitted, `${action.type} events`).to.deep.equal(next.events);
            next.events = [];
            model = next;
          }

          const brandIds = Array.from({ length: Math.max(BRAND_IDS.length, Number(model.brandCount) + 2) }, (_, i) =>
            BigInt(i),
          );
          const onChain = await snapshot(
            {
              brandCount: () => registry.brandCount(),
              admin: (id) => registry.brandAdmin(id),
              pendingAdmin: (id) => registry.pendingBrandAdmin(id),
              prefixOwner: (p) => registry.brandOfPrefix(p),
              brandOfGtin: (g) => registry.brandOfGtin(g),
              role: (id, account) => registry.submitterRole(id, account),
              anchor: (id, root) => readAnchor(registry, id, root),
            },
            brandIds,
            accounts,
          );
          const expected = await snapshot(
            {
              brandCount: () => Promise.resolve(model.brandCount),
              admin: (id) => Promise.resolve(model.admin(id)),
              pendingAdmin: (id) => Promise.resolve(model.pendingAdmin(id)),
              prefixOwner: (p) => Promise.resolve(model.prefixOwner(p)),
              brandOfGtin: (g) => Promise.resolve(model.brandOfGtin(g)),
              role: (id, account) => Promise.resolve(model.role(id, account)),
              anchor: (id, root) => Promise.resolve(model.anchor(id, root)),
            },
            brandIds,
            accounts,
          );
          expect(onChain, `state after ${action.type}`).to.deep.equal(expected);
        }
      }),
      { numRuns: 25 },
    );
  });
});
