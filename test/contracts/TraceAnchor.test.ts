import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import type { TraceAnchor } from "../../typechain-types";
import type { AnchorRequest } from "../helpers/traceAnchor";
import {
  ADMIN_DELAY,
  ANCHOR_TYPES,
  BRAND_ID,
  BRAND_PREFIX,
  DEFAULT_ADMIN_ROLE,
  FACTORY,
  INTERFACE_IDS,
  KIND,
  LOGISTICS,
  NO_ANCHOR,
  REGISTRAR_ROLE,
  anchorDigest,
  anchorRequest,
  deployTraceAnchorFixture,
  installErc1271Wallet,
  leafOf,
  randomBytes32,
  readAnchor,
  signAnchor,
} from "../helpers/traceAnchor";

const SECOND_BRAND_ID = 2n;
const SECOND_PREFIX = "7612345";
const UNKNOWN_BRAND_ID = 99n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("TraceAnchor", function () {
  let registry: TraceAnchor;
  let chainId: bigint;
  let deployer: HardhatEthersSigner;
  let registrar: HardhatEthersSigner;
  let brandAdmin: HardhatEthersSigner;
  let submitter: HardhatEthersSigner;
  let stranger: HardhatEthersSigner;
  let relayer: HardhatEthersSigner;
  let secondBrandAdmin: HardhatEthersSigner;
  let secondSubmitter: HardhatEthersSigner;

  beforeEach(async function () {
    ({
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
    } = await loadFixture(deployTraceAnchorFixture));
  });

  /** Registers brand 2 (admin `secondBrandAdmin`, prefix SECOND_PREFIX) with `secondSubmitter` as its submitter. */
  async function registerSecondBrand(): Promise<void> {
    await registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, [SECOND_PREFIX]);
    await registry.connect(secondBrandAdmin).setSubmitter(SECOND_BRAND_ID, secondSubmitter.address, LOGISTICS);
  }

  async function anchorOne(overrides: Partial<AnchorRequest> = {}) {
    const request = anchorRequest(overrides);
    await registry.connect(submitter).anchor(BRAND_ID, request);
    return request;
  }

  describe("deployment", function () {
    it("makes the deployer the default admin with a 3-day delay", async function () {
      await expect(registry.deploymentTransaction())
        .to.emit(registry, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, deployer.address, deployer.address);
      expect(await registry.defaultAdmin()).to.equal(deployer.address);
      expect(await registry.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await registry.owner()).to.equal(deployer.address);
    });

    it("has the fixture's brand, prefix and submitter", async function () {
      expect(await registry.brandCount()).to.equal(1n);
      expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
      expect(await registry.submitterRole(BRAND_ID, submitter.address)).to.equal(FACTORY);
    });

    it("exposes the EIP-712 domain the helpers sign for", async function () {
      const domain = await registry.eip712Domain();
      expect(domain.name).to.equal("TraceAnchor");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(await registry.getAddress());
    });

    it("has ANCHOR_TYPEHASH equal to the TypeScript Anchor type", async function () {
      const encoded = ethers.TypedDataEncoder.from(ANCHOR_TYPES).encodeType("Anchor");
      expect(encoded).to.equal(
        "Anchor(uint64 brandId,bytes32 root,uint8 kind,uint64 leafCount,string contentURI,address submitter,uint256 nonce,uint256 deadline)",
      );
      expect(await registry.ANCHOR_TYPEHASH()).to.equal(ethers.id(encoded));
    });

    it("has REGISTRAR_ROLE = keccak256('REGISTRAR_ROLE')", async function () {
      expect(await registry.REGISTRAR_ROLE()).to.equal(REGISTRAR_ROLE);
    });
  });

  describe("registrar role", function () {
    it("is granted by the default admin", async function () {
      await expect(registry.connect(deployer).grantRole(REGISTRAR_ROLE, stranger.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(REGISTRAR_ROLE, stranger.address, deployer.address);
      expect(await registry.hasRole(REGISTRAR_ROLE, stranger.address)).to.equal(true);
    });

    it("lets a newly granted registrar register brands", async function () {
      await registry.connect(deployer).grantRole(REGISTRAR_ROLE, stranger.address);
      await expect(registry.connect(stranger).registerBrand("Globex", secondBrandAdmin.address, []))
        .to.emit(registry, "BrandRegistered")
        .withArgs(SECOND_BRAND_ID, secondBrandAdmin.address, "Globex");
      expect(await registry.brandCount()).to.equal(2n);
    });

    it("is revocable by the default admin", async function () {
      await expect(registry.connect(deployer).revokeRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(REGISTRAR_ROLE, registrar.address, deployer.address);
      expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(false);
    });

    it("no longer registers brands once revoked", async function () {
      await registry.connect(deployer).revokeRole(REGISTRAR_ROLE, registrar.address);
      await expect(registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, []))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, REGISTRAR_ROLE);
      expect(await registry.brandCount()).to.equal(1n);
    });

    it("cannot be granted by the registrar itself", async function () {
      await expect(registry.connect(registrar).grantRole(REGISTRAR_ROLE, stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, DEFAULT_ADMIN_ROLE);
      expect(await registry.hasRole(REGISTRAR_ROLE, stranger.address)).to.equal(false);
    });

    it("is not held by the default admin, who therefore cannot register brands", async function () {
      await expect(registry.connect(deployer).registerBrand("Globex", secondBrandAdmin.address, []))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(deployer.address, REGISTRAR_ROLE);
      expect(await registry.brandCount()).to.equal(1n);
    });
  });

  describe("default admin transfer", function () {
    it("cannot be started by a stranger", async function () {
      await expect(registry.connect(stranger).beginDefaultAdminTransfer(stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      expect((await registry.pendingDefaultAdmin()).newAdmin).to.equal(ethers.ZeroAddress);
    });

    it("is scheduled ADMIN_DELAY seconds ahead", async function () {
      const tx = await registry.connect(deployer).beginDefaultAdminTransfer(relayer.address);
      const schedule = BigInt(await time.latest()) + ADMIN_DELAY;
      await expect(tx).to.emit(registry, "DefaultAdminTransferScheduled").withArgs(relayer.address, schedule);
      const pending = await registry.pendingDefaultAdmin();
      expect(pending.newAdmin).to.equal(relayer.address);
      expect(pending.schedule).to.equal(schedule);
    });

    describe("when scheduled", function () {
      let schedule: bigint;

      beforeEach(async function () {
        await registry.connect(deployer).beginDefaultAdminTransfer(relayer.address);
        ({ schedule } = await registry.pendingDefaultAdmin());
      });

      it("cannot be accepted before the delay", async function () {
        await expect(registry.connect(relayer).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
          .withArgs(schedule);
        expect(await registry.defaultAdmin()).to.equal(deployer.address);
      });

      it("cannot be accepted by a stranger", async function () {
        await time.increase(ADMIN_DELAY + 1n);
        await expect(registry.connect(stranger).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(registry, "AccessControlInvalidDefaultAdmin")
          .withArgs(stranger.address);
        expect(await registry.defaultAdmin()).to.equal(deployer.address);
      });

      it("is accepted by the new admin after the delay", async function () {
        await time.increase(ADMIN_DELAY + 1n);
        await expect(registry.connect(relayer).acceptDefaultAdminTransfer())
          .to.emit(registry, "RoleRevoked")
          .withArgs(DEFAULT_ADMIN_ROLE, deployer.address, relayer.address)
          .and.to.emit(registry, "RoleGranted")
          .withArgs(DEFAULT_ADMIN_ROLE, relayer.address, relayer.address);
        expect(await registry.defaultAdmin()).to.equal(relayer.address);
        expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, deployer.address)).to.equal(false);
      });

      it("hands the power over the registrar role to the new admin", async function () {
        await time.increase(ADMIN_DELAY + 1n);
        await registry.connect(relayer).acceptDefaultAdminTransfer();
        await expect(registry.connect(relayer).revokeRole(REGISTRAR_ROLE, registrar.address))
          .to.emit(registry, "RoleRevoked")
          .withArgs(REGISTRAR_ROLE, registrar.address, relayer.address);
        expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(false);
      });

      it("takes the power over the registrar role from the old admin", async function () {
        await time.increase(ADMIN_DELAY + 1n);
        await registry.connect(relayer).acceptDefaultAdminTransfer();
        await expect(registry.connect(deployer).grantRole(REGISTRAR_ROLE, stranger.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(deployer.address, DEFAULT_ADMIN_ROLE);
        expect(await registry.hasRole(REGISTRAR_ROLE, stranger.address)).to.equal(false);
      });
    });
  });

  describe("registerBrand", function () {
    it("registers brand 2 with its admin and emits BrandRegistered and PrefixAssigned", async function () {
      await expect(
        registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, [SECOND_PREFIX, "761234567890"]),
      )
        .to.emit(registry, "BrandRegistered")
        .withArgs(SECOND_BRAND_ID, secondBrandAdmin.address, "Globex")
        .and.to.emit(registry, "PrefixAssigned")
        .withArgs(SECOND_BRAND_ID, SECOND_PREFIX)
        .and.to.emit(registry, "PrefixAssigned")
        .withArgs(SECOND_BRAND_ID, "761234567890");
      expect(await registry.brandCount()).to.equal(2n);
      expect(await registry.brandAdmin(SECOND_BRAND_ID)).to.equal(secondBrandAdmin.address);
      expect(await registry.pendingBrandAdmin(SECOND_BRAND_ID)).to.equal(ethers.ZeroAddress);
      expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(SECOND_BRAND_ID);
      expect(await registry.brandOfPrefix("761234567890")).to.equal(SECOND_BRAND_ID);
    });

    it("returns ids that increase by one", async function () {
      expect(await registry.connect(registrar).registerBrand.staticCall("Globex", stranger.address, [])).to.equal(2n);
      await expect(registry.connect(registrar).registerBrand("Globex", stranger.address, []))
        .to.emit(registry, "BrandRegistered")
        .withArgs(2n, stranger.address, "Globex");
      expect(await registry.connect(registrar).registerBrand.staticCall("Initech", stranger.address, [])).to.equal(3n);
      await expect(registry.connect(registrar).registerBrand("Initech", stranger.address, []))
        .to.emit(registry, "BrandRegistered")
        .withArgs(3n, stranger.address, "Initech");
      expect(await registry.brandCount()).to.equal(3n);
    });

    it("registers a brand without prefixes", async function () {
      await expect(registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, []))
        .to.emit(registry, "BrandRegistered")
        .withArgs(SECOND_BRAND_ID, secondBrandAdmin.address, "Globex")
        .and.not.to.emit(registry, "PrefixAssigned");
      expect(await registry.brandAdmin(SECOND_BRAND_ID)).to.equal(secondBrandAdmin.address);
    });

    it("lets one account administer two brands", async function () {
      await expect(registry.connect(registrar).registerBrand("Acme Outlet", brandAdmin.address, []))
        .to.emit(registry, "BrandRegistered")
        .withArgs(SECOND_BRAND_ID, brandAdmin.address, "Acme Outlet");
      expect(await registry.brandAdmin(SECOND_BRAND_ID)).to.equal(brandAdmin.address);
      expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
    });

    it("rejects an empty name", async function () {
      await expect(registry.connect(registrar).registerBrand("", secondBrandAdmin.address, []))
        .to.be.revertedWithCustomError(registry, "TraceAnchorEmptyName")
        .withArgs();
      expect(await registry.brandCount()).to.equal(1n);
    });

    it("rejects the zero admin", async function () {
      await expect(registry.connect(registrar).registerBrand("Globex", ethers.ZeroAddress, []))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidAdmin")
        .withArgs(ethers.ZeroAddress);
      expect(await registry.brandCount()).to.equal(1n);
    });

    it("rejects an invalid prefix and registers nothing", async function () {
      await expect(
        registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, [SECOND_PREFIX, "12345"]),
      )
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidPrefix")
        .withArgs("12345");
      expect(await registry.brandCount()).to.equal(1n);
      expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(0n);
    });

    it("rejects a prefix another brand holds", async function () {
      await expect(registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, [BRAND_PREFIX]))
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixTaken")
        .withArgs(BRAND_PREFIX, BRAND_ID);
      expect(await registry.brandCount()).to.equal(1n);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
    });

    it("rejects the same prefix twice in one call", async function () {
      await expect(
        registry.connect(registrar).registerBrand("Globex", secondBrandAdmin.address, [SECOND_PREFIX, SECOND_PREFIX]),
      )
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixTaken")
        .withArgs(SECOND_PREFIX, SECOND_BRAND_ID);
      expect(await registry.brandCount()).to.equal(1n);
      expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(0n);
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["a brand admin", () => brandAdmin],
      ["a submitter", () => submitter],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).registerBrand("Globex", account.address, []))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, REGISTRAR_ROLE);
        expect(await registry.brandCount()).to.equal(1n);
      });
    }
  });

  describe("assignPrefix", function () {
    for (const prefix of ["950601", "950612345678"]) {
      it(`assigns a ${prefix.length}-digit prefix`, async function () {
        await expect(registry.connect(registrar).assignPrefix(BRAND_ID, prefix))
          .to.emit(registry, "PrefixAssigned")
          .withArgs(BRAND_ID, prefix);
        expect(await registry.brandOfPrefix(prefix)).to.equal(BRAND_ID);
      });
    }

    for (const [label, prefix] of [
      ["5 digits", "95060"],
      ["13 digits", "9506000000000"],
      ["a letter", "95060a0"],
      ["a space", "950600 "],
      ["a sign", "-950600"],
      ["'/' (just below '0')", "950600/"],
      ["':' (just above '9')", "950600:"],
      ["a non-ASCII digit", "950600\u0663"],
      ["nothing", ""],
    ] as const) {
      it(`rejects a prefix of ${label}`, async function () {
        await expect(registry.connect(registrar).assignPrefix(BRAND_ID, prefix))
          .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidPrefix")
          .withArgs(prefix);
        expect(await registry.brandOfPrefix(prefix)).to.equal(0n);
      });
    }

    it("rejects a prefix another brand holds", async function () {
      await registerSecondBrand();
      await expect(registry.connect(registrar).assignPrefix(SECOND_BRAND_ID, BRAND_PREFIX))
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixTaken")
        .withArgs(BRAND_PREFIX, BRAND_ID);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
    });

    it("rejects a prefix the brand holds already", async function () {
      await expect(registry.connect(registrar).assignPrefix(BRAND_ID, BRAND_PREFIX))
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixTaken")
        .withArgs(BRAND_PREFIX, BRAND_ID);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
    });

    for (const brandId of [0n, 2n, UNKNOWN_BRAND_ID]) {
      it(`rejects unknown brand ${brandId}`, async function () {
        await expect(registry.connect(registrar).assignPrefix(brandId, SECOND_PREFIX))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnknownBrand")
          .withArgs(brandId);
        expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(0n);
      });
    }

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the brand admin", () => brandAdmin],
      ["the default admin", () => deployer],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).assignPrefix(BRAND_ID, SECOND_PREFIX))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, REGISTRAR_ROLE);
        expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(0n);
      });
    }
  });

  describe("releasePrefix", function () {
    it("releases a prefix from its brand", async function () {
      await expect(registry.connect(registrar).releasePrefix(BRAND_PREFIX))
        .to.emit(registry, "PrefixReleased")
        .withArgs(BRAND_ID, BRAND_PREFIX);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(0n);
      expect(await registry.brandOfGtin("09506000134352")).to.equal(0n);
    });

    it("lets the registrar reassign a released prefix to another brand", async function () {
      await registerSecondBrand();
      await registry.connect(registrar).releasePrefix(BRAND_PREFIX);
      await expect(registry.connect(registrar).assignPrefix(SECOND_BRAND_ID, BRAND_PREFIX))
        .to.emit(registry, "PrefixAssigned")
        .withArgs(SECOND_BRAND_ID, BRAND_PREFIX);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(SECOND_BRAND_ID);
      expect(await registry.brandOfGtin("09506000134352")).to.equal(SECOND_BRAND_ID);
    });

    it("rejects a prefix no brand holds", async function () {
      await expect(registry.connect(registrar).releasePrefix(SECOND_PREFIX))
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixNotAssigned")
        .withArgs(SECOND_PREFIX);
      expect(await registry.brandOfPrefix(SECOND_PREFIX)).to.equal(0n);
    });

    it("rejects a prefix released already", async function () {
      await registry.connect(registrar).releasePrefix(BRAND_PREFIX);
      await expect(registry.connect(registrar).releasePrefix(BRAND_PREFIX))
        .to.be.revertedWithCustomError(registry, "TraceAnchorPrefixNotAssigned")
        .withArgs(BRAND_PREFIX);
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(0n);
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the brand admin", () => brandAdmin],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).releasePrefix(BRAND_PREFIX))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, REGISTRAR_ROLE);
        expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
      });
    }
  });

  describe("brandOfPrefix", function () {
    it("matches a prefix exactly, not by its start", async function () {
      expect(await registry.brandOfPrefix(BRAND_PREFIX)).to.equal(BRAND_ID);
      expect(await registry.brandOfPrefix(`${BRAND_PREFIX}1`)).to.equal(0n);
      expect(await registry.brandOfPrefix(BRAND_PREFIX.slice(0, 6))).to.equal(0n);
    });

    it("returns 0 for a string that is no prefix", async function () {
      expect(await registry.brandOfPrefix("")).to.equal(0n);
      expect(await registry.brandOfPrefix("hello")).to.equal(0n);
    });
  });

  describe("brandOfGtin", function () {
    it("finds the brand of a GTIN after its indicator digit", async function () {
      expect(await registry.brandOfGtin("09506000134352")).to.equal(BRAND_ID);
      expect(await registry.brandOfGtin("19506000134359")).to.equal(BRAND_ID);
      expect(await registry.brandOfGtin("89506000134355")).to.equal(BRAND_ID);
    });

    it("does not read the prefix from the indicator digit", async function () {
      expect(await registry.brandOfGtin("95060001343520")).to.equal(0n);
    });

    it("returns 0 for a GTIN under no assigned prefix", async function () {
      expect(await registry.brandOfGtin("04006381333931")).to.equal(0n);
    });

    describe("with nested prefixes", function () {
      beforeEach(async function () {
        await registerSecondBrand();
        await registry.connect(registrar).assignPrefix(SECOND_BRAND_ID, "950600");
        await registry.connect(registrar).assignPrefix(SECOND_BRAND_ID, "950600012345");
      });

      it("takes the longest matching prefix", async function () {
        expect(await registry.brandOfGtin("09506000123452")).to.equal(SECOND_BRAND_ID);
        expect(await registry.brandOfGtin("09506000134352")).to.equal(BRAND_ID);
        expect(await registry.brandOfGtin("09506009999994")).to.equal(SECOND_BRAND_ID);
      });

      it("falls back to a shorter prefix once the longer one is released", async function () {
        await expect(registry.connect(registrar).releasePrefix(BRAND_PREFIX))
          .to.emit(registry, "PrefixReleased")
          .withArgs(BRAND_ID, BRAND_PREFIX);
        expect(await registry.brandOfGtin("09506000134352")).to.equal(SECOND_BRAND_ID);
      });
    });

    for (const [label, gtin] of [
      ["13 digits", "0950600013435"],
      ["15 digits", "095060001343520"],
      ["nothing", ""],
      ["a letter", "0950600013435A"],
      ["a space", "0950600013435 "],
      ["':'", "0950600013435:"],
    ] as const) {
      it(`rejects a GTIN of ${label}`, async function () {
        await expect(registry.brandOfGtin(gtin))
          .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidGtin")
          .withArgs(gtin);
      });
    }
  });

  describe("brand admin rotation", function () {
    const newAdmin = () => relayer;

    it("cannot be started by the pending candidate, a stranger, a submitter or another brand's admin", async function () {
      await registerSecondBrand();
      for (const account of [relayer, stranger, submitter, secondBrandAdmin]) {
        await expect(registry.connect(account).transferBrandAdmin(BRAND_ID, account.address))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(account.address, BRAND_ID);
      }
      expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(ethers.ZeroAddress);
    });

    it("cannot be started for an unknown brand", async function () {
      await expect(registry.connect(stranger).transferBrandAdmin(UNKNOWN_BRAND_ID, stranger.address))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(stranger.address, UNKNOWN_BRAND_ID);
      expect(await registry.brandAdmin(UNKNOWN_BRAND_ID)).to.equal(ethers.ZeroAddress);
    });

    it("cannot be accepted when nothing is pending", async function () {
      await expect(registry.connect(brandAdmin).acceptBrandAdmin(BRAND_ID))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
        .withArgs(brandAdmin.address, BRAND_ID);
      expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
    });

    it("cannot be accepted for an unknown brand", async function () {
      await expect(registry.connect(stranger).acceptBrandAdmin(UNKNOWN_BRAND_ID))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
        .withArgs(stranger.address, UNKNOWN_BRAND_ID);
      expect(await registry.brandAdmin(UNKNOWN_BRAND_ID)).to.equal(ethers.ZeroAddress);
    });

    it("starts with transferBrandAdmin, which only records the pending admin", async function () {
      await expect(registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, newAdmin().address))
        .to.emit(registry, "BrandAdminTransferStarted")
        .withArgs(BRAND_ID, brandAdmin.address, newAdmin().address);
      expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(newAdmin().address);
      expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
    });

    describe("when pending", function () {
      beforeEach(async function () {
        await registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, newAdmin().address);
      });

      it("leaves the current admin in charge", async function () {
        await expect(registry.connect(brandAdmin).setSubmitter(BRAND_ID, stranger.address, LOGISTICS))
          .to.emit(registry, "SubmitterRoleSet")
          .withArgs(BRAND_ID, stranger.address, LOGISTICS);
        expect(await registry.submitterRole(BRAND_ID, stranger.address)).to.equal(LOGISTICS);
      });

      it("gives the pending admin no rights yet", async function () {
        await expect(registry.connect(newAdmin()).setSubmitter(BRAND_ID, stranger.address, LOGISTICS))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(newAdmin().address, BRAND_ID);
        expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(false);
      });

      it("is accepted by the pending admin", async function () {
        await expect(registry.connect(newAdmin()).acceptBrandAdmin(BRAND_ID))
          .to.emit(registry, "BrandAdminTransferred")
          .withArgs(BRAND_ID, brandAdmin.address, newAdmin().address);
        expect(await registry.brandAdmin(BRAND_ID)).to.equal(newAdmin().address);
        expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(ethers.ZeroAddress);
      });

      for (const [label, who] of [
        ["a stranger", () => stranger],
        ["the current admin", () => brandAdmin],
        ["the registrar", () => registrar],
      ] as const) {
        it(`cannot be accepted by ${label}`, async function () {
          const account = who();
          await expect(registry.connect(account).acceptBrandAdmin(BRAND_ID))
            .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
            .withArgs(account.address, BRAND_ID);
          expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
          expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(newAdmin().address);
        });
      }

      it("cannot be accepted for another brand", async function () {
        await registerSecondBrand();
        await expect(registry.connect(newAdmin()).acceptBrandAdmin(SECOND_BRAND_ID))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
          .withArgs(newAdmin().address, SECOND_BRAND_ID);
        expect(await registry.brandAdmin(SECOND_BRAND_ID)).to.equal(secondBrandAdmin.address);
      });

      it("is cancelled with address(0)", async function () {
        await expect(registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, ethers.ZeroAddress))
          .to.emit(registry, "BrandAdminTransferStarted")
          .withArgs(BRAND_ID, brandAdmin.address, ethers.ZeroAddress);
        expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(ethers.ZeroAddress);
      });

      it("cannot be accepted once cancelled", async function () {
        await registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, ethers.ZeroAddress);
        await expect(registry.connect(newAdmin()).acceptBrandAdmin(BRAND_ID))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
          .withArgs(newAdmin().address, BRAND_ID);
        expect(await registry.brandAdmin(BRAND_ID)).to.equal(brandAdmin.address);
      });

      it("cannot be accepted by a candidate who was replaced", async function () {
        await expect(registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, stranger.address))
          .to.emit(registry, "BrandAdminTransferStarted")
          .withArgs(BRAND_ID, brandAdmin.address, stranger.address);
        await expect(registry.connect(newAdmin()).acceptBrandAdmin(BRAND_ID))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedPendingAdmin")
          .withArgs(newAdmin().address, BRAND_ID);
        expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(stranger.address);
      });
    });

    describe("when accepted", function () {
      let root: string;

      beforeEach(async function () {
        ({ root } = await anchorOne());
        await registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, newAdmin().address);
        await registry.connect(newAdmin()).acceptBrandAdmin(BRAND_ID);
      });

      it("lets the new admin name submitters", async function () {
        await expect(registry.connect(newAdmin()).setSubmitter(BRAND_ID, stranger.address, LOGISTICS))
          .to.emit(registry, "SubmitterRoleSet")
          .withArgs(BRAND_ID, stranger.address, LOGISTICS);
        expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(true);
      });

      it("lets the new admin revoke", async function () {
        await expect(registry.connect(newAdmin()).revoke(BRAND_ID, root, "recall"))
          .to.emit(registry, "Revoked")
          .withArgs(BRAND_ID, root, newAdmin().address, "recall");
        expect((await readAnchor(registry, BRAND_ID, root)).revokedAt).to.equal(BigInt(await time.latest()));
      });

      it("keeps the submitters the old admin named", async function () {
        await expect(anchorOne()).to.not.be.reverted;
        expect(await registry.submitterRole(BRAND_ID, submitter.address)).to.equal(FACTORY);
      });

      it("takes setSubmitter from the old admin", async function () {
        await expect(registry.connect(brandAdmin).setSubmitter(BRAND_ID, stranger.address, LOGISTICS))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(brandAdmin.address, BRAND_ID);
        expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(false);
      });

      it("takes removeSubmitter from the old admin", async function () {
        await expect(registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(brandAdmin.address, BRAND_ID);
        expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(true);
      });

      it("takes revoke from the old admin", async function () {
        await expect(registry.connect(brandAdmin).revoke(BRAND_ID, root, "recall"))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(brandAdmin.address, BRAND_ID);
        expect((await readAnchor(registry, BRAND_ID, root)).revokedAt).to.equal(0n);
      });

      it("takes transferBrandAdmin from the old admin", async function () {
        await expect(registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, brandAdmin.address))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(brandAdmin.address, BRAND_ID);
        expect(await registry.pendingBrandAdmin(BRAND_ID)).to.equal(ethers.ZeroAddress);
      });
    });
  });

  describe("setSubmitter", function () {
    it("names a submitter with a role label", async function () {
      await expect(registry.connect(brandAdmin).setSubmitter(BRAND_ID, stranger.address, LOGISTICS))
        .to.emit(registry, "SubmitterRoleSet")
        .withArgs(BRAND_ID, stranger.address, LOGISTICS);
      expect(await registry.submitterRole(BRAND_ID, stranger.address)).to.equal(LOGISTICS);
      expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(true);
    });

    it("changes the label of an existing submitter", async function () {
      await expect(registry.connect(brandAdmin).setSubmitter(BRAND_ID, submitter.address, LOGISTICS))
        .to.emit(registry, "SubmitterRoleSet")
        .withArgs(BRAND_ID, submitter.address, LOGISTICS);
      expect(await registry.submitterRole(BRAND_ID, submitter.address)).to.equal(LOGISTICS);
    });

    it("rejects the zero role label", async function () {
      await expect(registry.connect(brandAdmin).setSubmitter(BRAND_ID, stranger.address, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidRole")
        .withArgs(ethers.ZeroHash);
      expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(false);
    });

    it("scopes the role to its brand", async function () {
      await registerSecondBrand();
      expect(await registry.isSubmitter(SECOND_BRAND_ID, submitter.address)).to.equal(false);
      expect(await registry.isSubmitter(BRAND_ID, secondSubmitter.address)).to.equal(false);
    });

    describe("one account submitting for two brands", function () {
      beforeEach(async function () {
        await registerSecondBrand();
      });

      it("holds a separate role per brand", async function () {
        await expect(registry.connect(secondBrandAdmin).setSubmitter(SECOND_BRAND_ID, submitter.address, LOGISTICS))
          .to.emit(registry, "SubmitterRoleSet")
          .withArgs(SECOND_BRAND_ID, submitter.address, LOGISTICS);
        expect(await registry.submitterRole(BRAND_ID, submitter.address)).to.equal(FACTORY);
        expect(await registry.submitterRole(SECOND_BRAND_ID, submitter.address)).to.equal(LOGISTICS);
      });

      it("anchors for both brands", async function () {
        await registry.connect(secondBrandAdmin).setSubmitter(SECOND_BRAND_ID, submitter.address, LOGISTICS);
        const root = randomBytes32();
        for (const brandId of [BRAND_ID, SECOND_BRAND_ID]) {
          await expect(registry.connect(submitter).anchor(brandId, anchorRequest({ root })))
            .to.emit(registry, "Anchored")
            .withArgs(brandId, root, submitter.address, KIND.identity, 3n, "ipfs://batch");
          expect((await readAnchor(registry, brandId, root)).anchoredAt).to.equal(BigInt(await time.latest()));
        }
      });

      it("keeps the other brand's role when one brand removes it", async function () {
        await registry.connect(secondBrandAdmin).setSubmitter(SECOND_BRAND_ID, submitter.address, LOGISTICS);
        await expect(registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address))
          .to.emit(registry, "SubmitterRemoved")
          .withArgs(BRAND_ID, submitter.address);
        expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(false);
        expect(await registry.isSubmitter(SECOND_BRAND_ID, submitter.address)).to.equal(true);
      });
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the registrar", () => registrar],
      ["the default admin", () => deployer],
      ["a submitter", () => submitter],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).setSubmitter(BRAND_ID, account.address, LOGISTICS))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(account.address, BRAND_ID);
        expect(await registry.submitterRole(BRAND_ID, account.address)).to.equal(
          account === submitter ? FACTORY : ethers.ZeroHash,
        );
      });
    }

    it("rejects another brand's admin", async function () {
      await registerSecondBrand();
      await expect(registry.connect(secondBrandAdmin).setSubmitter(BRAND_ID, secondSubmitter.address, LOGISTICS))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(secondBrandAdmin.address, BRAND_ID);
      expect(await registry.isSubmitter(BRAND_ID, secondSubmitter.address)).to.equal(false);
    });

    it("rejects an unknown brand", async function () {
      await expect(registry.connect(brandAdmin).setSubmitter(UNKNOWN_BRAND_ID, stranger.address, LOGISTICS))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(brandAdmin.address, UNKNOWN_BRAND_ID);
      expect(await registry.isSubmitter(UNKNOWN_BRAND_ID, stranger.address)).to.equal(false);
    });
  });

  describe("removeSubmitter", function () {
    it("removes a submitter", async function () {
      await expect(registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address))
        .to.emit(registry, "SubmitterRemoved")
        .withArgs(BRAND_ID, submitter.address);
      expect(await registry.submitterRole(BRAND_ID, submitter.address)).to.equal(ethers.ZeroHash);
      expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(false);
    });

    it("stops a removed submitter from anchoring", async function () {
      await registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address);
      const request = anchorRequest();
      await expect(registry.connect(submitter).anchor(BRAND_ID, request))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(submitter.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects an account that is not a submitter", async function () {
      await expect(registry.connect(brandAdmin).removeSubmitter(BRAND_ID, stranger.address))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(stranger.address, BRAND_ID);
      expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(false);
    });

    it("rejects a submitter removed already", async function () {
      await registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address);
      await expect(registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(submitter.address, BRAND_ID);
      expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(false);
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the registrar", () => registrar],
      ["the submitter itself", () => submitter],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).removeSubmitter(BRAND_ID, submitter.address))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(account.address, BRAND_ID);
        expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(true);
      });
    }

    it("rejects another brand's admin", async function () {
      await registerSecondBrand();
      await expect(registry.connect(secondBrandAdmin).removeSubmitter(BRAND_ID, submitter.address))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(secondBrandAdmin.address, BRAND_ID);
      expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(true);
    });
  });

  describe("anchor", function () {
    for (const [label, kind] of [
      ["an identity", KIND.identity],
      ["a trace", KIND.trace],
    ] as const) {
      it(`anchors ${label} batch`, async function () {
        const request = anchorRequest({ kind, leafCount: 1000, contentURI: "ipfs://bafy-batch-1" });
        await expect(registry.connect(submitter).anchor(BRAND_ID, request))
          .to.emit(registry, "Anchored")
          .withArgs(BRAND_ID, request.root, submitter.address, kind, 1000n, "ipfs://bafy-batch-1");
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal({
          kind: BigInt(kind),
          leafCount: 1000n,
          anchoredAt: BigInt(await time.latest()),
          revokedAt: 0n,
        });
      });
    }

    it("stores the largest leafCount without touching the neighbouring fields", async function () {
      const maxLeafCount = 2n ** 64n - 1n;
      const request = anchorRequest({ kind: KIND.trace, leafCount: maxLeafCount });
      await expect(registry.connect(submitter).anchor(BRAND_ID, request))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.trace, maxLeafCount, "ipfs://batch");
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal({
        kind: BigInt(KIND.trace),
        leafCount: maxLeafCount,
        anchoredAt: BigInt(await time.latest()),
        revokedAt: 0n,
      });
    });

    it("accepts an empty contentURI", async function () {
      const request = anchorRequest({ contentURI: "" });
      await expect(registry.connect(submitter).anchor(BRAND_ID, request))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.identity, 3n, "");
      expect((await readAnchor(registry, BRAND_ID, request.root)).anchoredAt).to.equal(BigInt(await time.latest()));
    });

    it("rejects a root the brand anchored already and keeps the first anchor", async function () {
      const first = await anchorOne();
      const anchoredAt = BigInt(await time.latest());
      await expect(registry.connect(submitter).anchor(BRAND_ID, { ...first, kind: KIND.trace, leafCount: 9 }))
        .to.be.revertedWithCustomError(registry, "TraceAnchorAlreadyAnchored")
        .withArgs(BRAND_ID, first.root);
      expect(await readAnchor(registry, BRAND_ID, first.root)).to.deep.equal({
        kind: BigInt(KIND.identity),
        leafCount: 3n,
        anchoredAt,
        revokedAt: 0n,
      });
    });

    it("rejects a root the brand anchored and revoked", async function () {
      const first = await anchorOne();
      await registry.connect(brandAdmin).revoke(BRAND_ID, first.root, "recall");
      const revoked = await readAnchor(registry, BRAND_ID, first.root);
      await expect(registry.connect(submitter).anchor(BRAND_ID, first))
        .to.be.revertedWithCustomError(registry, "TraceAnchorAlreadyAnchored")
        .withArgs(BRAND_ID, first.root);
      expect(await readAnchor(registry, BRAND_ID, first.root)).to.deep.equal(revoked);
    });

    it("anchors a root another brand anchored first (no front-running)", async function () {
      await registerSecondBrand();
      const root = randomBytes32();
      await registry
        .connect(secondSubmitter)
        .anchor(SECOND_BRAND_ID, anchorRequest({ root, kind: KIND.trace, leafCount: 1 }));
      const squattedAt = BigInt(await time.latest());
      await expect(registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root })))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, root, submitter.address, KIND.identity, 3n, "ipfs://batch");
      expect(await readAnchor(registry, BRAND_ID, root)).to.deep.equal({
        kind: BigInt(KIND.identity),
        leafCount: 3n,
        anchoredAt: BigInt(await time.latest()),
        revokedAt: 0n,
      });
      expect(await readAnchor(registry, SECOND_BRAND_ID, root)).to.deep.equal({
        kind: BigInt(KIND.trace),
        leafCount: 1n,
        anchoredAt: squattedAt,
        revokedAt: 0n,
      });
    });

    for (const kind of [0, 3, 255]) {
      it(`rejects kind ${kind}`, async function () {
        const request = anchorRequest({ kind });
        await expect(registry.connect(submitter).anchor(BRAND_ID, request))
          .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidKind")
          .withArgs(kind);
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      });
    }

    it("rejects the zero root", async function () {
      await expect(registry.connect(submitter).anchor(BRAND_ID, anchorRequest({ root: ethers.ZeroHash })))
        .to.be.revertedWithCustomError(registry, "TraceAnchorEmptyBatch")
        .withArgs(ethers.ZeroHash, 3n);
      expect(await readAnchor(registry, BRAND_ID, ethers.ZeroHash)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a leafCount of 0", async function () {
      const request = anchorRequest({ leafCount: 0 });
      await expect(registry.connect(submitter).anchor(BRAND_ID, request))
        .to.be.revertedWithCustomError(registry, "TraceAnchorEmptyBatch")
        .withArgs(request.root, 0n);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the brand admin", () => brandAdmin],
      ["the registrar", () => registrar],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        const request = anchorRequest();
        await expect(registry.connect(account).anchor(BRAND_ID, request))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
          .withArgs(account.address, BRAND_ID);
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      });
    }

    it("rejects another brand's submitter", async function () {
      await registerSecondBrand();
      const request = anchorRequest();
      await expect(registry.connect(secondSubmitter).anchor(BRAND_ID, request))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(secondSubmitter.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects an unknown brand", async function () {
      const request = anchorRequest();
      await expect(registry.connect(submitter).anchor(UNKNOWN_BRAND_ID, request))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(submitter.address, UNKNOWN_BRAND_ID);
      expect(await readAnchor(registry, UNKNOWN_BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("checks the submitter before the request", async function () {
      await expect(registry.connect(stranger).anchor(BRAND_ID, anchorRequest({ kind: 0, leafCount: 0 })))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(stranger.address, BRAND_ID);
    });
  });

  describe("anchorMany", function () {
    it("anchors every batch and emits Anchored in request order", async function () {
      const requests = [
        anchorRequest({ contentURI: "ipfs://a" }),
        anchorRequest({ kind: KIND.trace, leafCount: 7, contentURI: "ipfs://b" }),
        anchorRequest({ leafCount: 1, contentURI: "ipfs://c" }),
      ];
      const tx = registry.connect(submitter).anchorMany(BRAND_ID, requests);
      for (const request of requests) {
        await expect(tx)
          .to.emit(registry, "Anchored")
          .withArgs(BRAND_ID, request.root, submitter.address, request.kind, request.leafCount, request.contentURI);
      }
      const receipt = await (await tx).wait();
      const emitted = (receipt?.logs ?? [])
        .map((log) => registry.interface.parseLog(log))
        .filter((parsed) => parsed?.name === "Anchored")
        .map((parsed) => parsed?.args.root as string);
      expect(emitted).to.deep.equal(requests.map((r) => r.root));

      const anchoredAt = BigInt(await time.latest());
      for (const request of requests) {
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal({
          kind: BigInt(request.kind),
          leafCount: BigInt(request.leafCount),
          anchoredAt,
          revokedAt: 0n,
        });
      }
    });

    it("anchors nothing for an empty array", async function () {
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, [])).not.to.emit(registry, "Anchored");
      expect(await registry.isSubmitter(BRAND_ID, submitter.address)).to.equal(true);
    });

    it("anchors nothing when a root repeats inside the batch", async function () {
      const first = anchorRequest();
      const requests = [first, anchorRequest(), { ...first, contentURI: "ipfs://again" }];
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, requests))
        .to.be.revertedWithCustomError(registry, "TraceAnchorAlreadyAnchored")
        .withArgs(BRAND_ID, first.root);
      for (const request of requests) {
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      }
    });

    it("anchors nothing when one root is anchored already", async function () {
      const existing = await anchorOne();
      const before = await readAnchor(registry, BRAND_ID, existing.root);
      const fresh = [anchorRequest(), anchorRequest()];
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, [fresh[0]!, existing, fresh[1]!]))
        .to.be.revertedWithCustomError(registry, "TraceAnchorAlreadyAnchored")
        .withArgs(BRAND_ID, existing.root);
      for (const request of fresh) {
        expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      }
      expect(await readAnchor(registry, BRAND_ID, existing.root)).to.deep.equal(before);
    });

    it("anchors nothing when the last request has an invalid kind", async function () {
      const requests = [anchorRequest(), anchorRequest({ kind: 3 })];
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, requests))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidKind")
        .withArgs(3);
      expect(await readAnchor(registry, BRAND_ID, requests[0]!.root)).to.deep.equal(NO_ANCHOR);
    });

    it("anchors nothing when one request is empty", async function () {
      const requests = [anchorRequest(), anchorRequest({ leafCount: 0 })];
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, requests))
        .to.be.revertedWithCustomError(registry, "TraceAnchorEmptyBatch")
        .withArgs(requests[1]!.root, 0n);
      expect(await readAnchor(registry, BRAND_ID, requests[0]!.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a stranger, even with an empty array", async function () {
      await expect(registry.connect(stranger).anchorMany(BRAND_ID, []))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(stranger.address, BRAND_ID);
      expect(await registry.isSubmitter(BRAND_ID, stranger.address)).to.equal(false);
    });

    it("rejects another brand's submitter", async function () {
      await registerSecondBrand();
      const request = anchorRequest();
      await expect(registry.connect(secondSubmitter).anchorMany(BRAND_ID, [request]))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(secondSubmitter.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a removed submitter", async function () {
      await registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address);
      const request = anchorRequest();
      await expect(registry.connect(submitter).anchorMany(BRAND_ID, [request]))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(submitter.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });
  });

  describe("anchorWithSig", function () {
    let request: AnchorRequest;
    let deadline: bigint;

    beforeEach(async function () {
      request = anchorRequest({ kind: KIND.trace, leafCount: 12, contentURI: "ipfs://signed" });
      deadline = BigInt(await time.latest()) + 3600n;
    });

    async function sign(signer: HardhatEthersSigner, overrides: { nonce?: bigint; claimed?: string } = {}) {
      const claimed = overrides.claimed ?? signer.address;
      const nonce = overrides.nonce ?? (await registry.nonces(claimed));
      return signAnchor(signer, registry, { brandId: BRAND_ID, request, submitter: claimed, nonce, deadline });
    }

    async function expectInvalid(signature: string, claimed: string, sent = request, sentDeadline = deadline) {
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, sent, claimed, sentDeadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidSignature")
        .withArgs(claimed);
      expect(await readAnchor(registry, BRAND_ID, sent.root)).to.deep.equal(NO_ANCHOR);
      expect(await registry.nonces(claimed)).to.equal(0n);
    }

    it("anchors a batch sent by a relayer under the signer's name", async function () {
      const signature = await sign(submitter);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.trace, 12n, "ipfs://signed");
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal({
        kind: BigInt(KIND.trace),
        leafCount: 12n,
        anchoredAt: BigInt(await time.latest()),
        revokedAt: 0n,
      });
    });

    it("uses the submitter's nonce, not the relayer's", async function () {
      const signature = await sign(submitter);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.trace, 12n, "ipfs://signed");
      expect(await registry.nonces(submitter.address)).to.equal(1n);
      expect(await registry.nonces(relayer.address)).to.equal(0n);
    });

    it("accepts the next signature under the next nonce", async function () {
      await registry
        .connect(relayer)
        .anchorWithSig(BRAND_ID, request, submitter.address, deadline, await sign(submitter));
      request = anchorRequest();
      const signature = await sign(submitter, { nonce: 1n });
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.identity, 3n, "ipfs://batch");
      expect(await registry.nonces(submitter.address)).to.equal(2n);
    });

    it("may be sent by the submitter itself", async function () {
      const signature = await sign(submitter);
      await expect(registry.connect(submitter).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.trace, 12n, "ipfs://signed");
      expect(await registry.nonces(submitter.address)).to.equal(1n);
    });

    it("accepts a signature in the block of its deadline", async function () {
      const signature = await sign(submitter);
      await time.setNextBlockTimestamp(deadline);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.emit(registry, "Anchored")
        .withArgs(BRAND_ID, request.root, submitter.address, KIND.trace, 12n, "ipfs://signed");
      expect((await readAnchor(registry, BRAND_ID, request.root)).anchoredAt).to.equal(deadline);
    });

    it("rejects a replayed signature, whose nonce has moved on", async function () {
      const signature = await sign(submitter);
      await registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature);
      const stored = await readAnchor(registry, BRAND_ID, request.root);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidSignature")
        .withArgs(submitter.address);
      expect(await registry.nonces(submitter.address)).to.equal(1n);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(stored);
    });

    it("rejects a signature over a future nonce", async function () {
      await expectInvalid(await sign(submitter, { nonce: 1n }), submitter.address);
    });

    it("rejects an expired signature", async function () {
      const signature = await sign(submitter);
      await time.increaseTo(deadline + 1n);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorExpiredSignature")
        .withArgs(deadline);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      expect(await registry.nonces(submitter.address)).to.equal(0n);
    });

    it("rejects a signature for another chain", async function () {
      const signature = await signAnchor(
        submitter,
        registry,
        { brandId: BRAND_ID, request, submitter: submitter.address, nonce: 0n, deadline },
        { chainId: chainId + 1n },
      );
      await expectInvalid(signature, submitter.address);
    });

    it("rejects a signature for another contract", async function () {
      const signature = await signAnchor(
        submitter,
        registry,
        { brandId: BRAND_ID, request, submitter: submitter.address, nonce: 0n, deadline },
        { verifyingContract: stranger.address },
      );
      await expectInvalid(signature, submitter.address);
    });

    it("rejects a signature under another domain name or version", async function () {
      const message = { brandId: BRAND_ID, request, submitter: submitter.address, nonce: 0n, deadline };
      await expectInvalid(await signAnchor(submitter, registry, message, { name: "TraceAnchor2" }), submitter.address);
      await expectInvalid(await signAnchor(submitter, registry, message, { version: "2" }), submitter.address);
    });

    it("rejects a stranger's signature claiming the submitter's address", async function () {
      await expectInvalid(await sign(stranger, { claimed: submitter.address, nonce: 0n }), submitter.address);
    });

    it("rejects a valid signer who is not a submitter of the brand", async function () {
      const signature = await sign(stranger);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, stranger.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(stranger.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
      expect(await registry.nonces(stranger.address)).to.equal(0n);
    });

    it("rejects a signature of a submitter removed after signing", async function () {
      const signature = await sign(submitter);
      await registry.connect(brandAdmin).removeSubmitter(BRAND_ID, submitter.address);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedSubmitter")
        .withArgs(submitter.address, BRAND_ID);
      expect(await readAnchor(registry, BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a signature sent for another brand", async function () {
      await registerSecondBrand();
      await registry.connect(secondBrandAdmin).setSubmitter(SECOND_BRAND_ID, submitter.address, LOGISTICS);
      const signature = await sign(submitter);
      await expect(
        registry.connect(relayer).anchorWithSig(SECOND_BRAND_ID, request, submitter.address, deadline, signature),
      )
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidSignature")
        .withArgs(submitter.address);
      expect(await readAnchor(registry, SECOND_BRAND_ID, request.root)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a valid signature over an invalid kind with TraceAnchorInvalidKind", async function () {
      request = { ...request, kind: 3 };
      const signature = await sign(submitter);
      await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, submitter.address, deadline, signature))
        .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidKind")
        .withArgs(3);
      expect(await registry.nonces(submitter.address)).to.equal(0n);
    });

    for (const [field, tamper] of [
      ["root", (r: AnchorRequest) => ({ ...r, root: randomBytes32() })],
      ["kind", (r: AnchorRequest) => ({ ...r, kind: KIND.identity })],
      ["leafCount", (r: AnchorRequest) => ({ ...r, leafCount: 13 })],
      ["contentURI", (r: AnchorRequest) => ({ ...r, contentURI: "ipfs://forged" })],
    ] as const) {
      it(`rejects a request whose ${field} changed after signing`, async function () {
        const signature = await sign(submitter);
        await expectInvalid(signature, submitter.address, tamper(request));
      });
    }

    it("rejects a deadline changed after signing", async function () {
      await expectInvalid(await sign(submitter), submitter.address, request, deadline + 1n);
    });

    it("rejects the 64-byte compact form of a valid signature", async function () {
      const compact = ethers.Signature.from(await sign(submitter)).compactSerialized;
      expect(ethers.dataLength(compact)).to.equal(64);
      await expectInvalid(compact, submitter.address);
    });

    it("rejects a 66-byte signature", async function () {
      await expectInvalid(ethers.concat([await sign(submitter), "0x00"]), submitter.address);
    });

    it("rejects an empty signature", async function () {
      await expectInvalid("0x", submitter.address);
    });

    it("rejects 65 zero bytes", async function () {
      await expectInvalid(ethers.zeroPadValue("0x", 65), submitter.address);
    });

    it("rejects the malleable high-s twin of a valid signature", async function () {
      const sig = ethers.Signature.from(await sign(submitter));
      const highS = ethers.toBeHex(SECP256K1_N - BigInt(sig.s), 32);
      const twin = ethers.concat([sig.r, highS, ethers.toBeHex(sig.v === 27 ? 28 : 27, 1)]);
      await expectInvalid(twin, submitter.address);
    });

    describe("with an ERC-1271 wallet as submitter (raw bytecode, no test contract)", function () {
      let wallet: string;

      beforeEach(async function () {
        wallet = ethers.Wallet.createRandom().address;
        await registry.connect(brandAdmin).setSubmitter(BRAND_ID, wallet, FACTORY);
      });

      it("anchors when the wallet approves the digest", async function () {
        const message = { brandId: BRAND_ID, request, submitter: wallet, nonce: 0n, deadline };
        await installErc1271Wallet(wallet, await anchorDigest(registry, message));
        await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, wallet, deadline, "0x1234"))
          .to.emit(registry, "Anchored")
          .withArgs(BRAND_ID, request.root, wallet, KIND.trace, 12n, "ipfs://signed");
        expect(await registry.nonces(wallet)).to.equal(1n);
        expect((await readAnchor(registry, BRAND_ID, request.root)).anchoredAt).to.equal(BigInt(await time.latest()));
      });

      it("rejects a request whose digest the wallet does not approve", async function () {
        const message = { brandId: BRAND_ID, request, submitter: wallet, nonce: 0n, deadline };
        await installErc1271Wallet(wallet, await anchorDigest(registry, message));
        await expectInvalid("0x1234", wallet, { ...request, leafCount: 13 });
      });

      it("rejects a replay once the wallet's nonce has moved on", async function () {
        const message = { brandId: BRAND_ID, request, submitter: wallet, nonce: 0n, deadline };
        await installErc1271Wallet(wallet, await anchorDigest(registry, message));
        await registry.connect(relayer).anchorWithSig(BRAND_ID, request, wallet, deadline, "0x1234");
        await expect(registry.connect(relayer).anchorWithSig(BRAND_ID, request, wallet, deadline, "0x1234"))
          .to.be.revertedWithCustomError(registry, "TraceAnchorInvalidSignature")
          .withArgs(wallet);
        expect(await registry.nonces(wallet)).to.equal(1n);
      });
    });
  });

  describe("revoke", function () {
    let root: string;
    let anchoredAt: bigint;

    beforeEach(async function () {
      ({ root } = await anchorOne({ kind: KIND.trace, leafCount: 5 }));
      anchoredAt = BigInt(await time.latest());
    });

    it("revokes with a reason and keeps the anchor readable", async function () {
      await time.increase(60);
      await expect(registry.connect(brandAdmin).revoke(BRAND_ID, root, "counterfeit batch"))
        .to.emit(registry, "Revoked")
        .withArgs(BRAND_ID, root, brandAdmin.address, "counterfeit batch");
      expect(await readAnchor(registry, BRAND_ID, root)).to.deep.equal({
        kind: BigInt(KIND.trace),
        leafCount: 5n,
        anchoredAt,
        revokedAt: BigInt(await time.latest()),
      });
    });

    it("rejects a second revocation and keeps the first timestamp", async function () {
      await registry.connect(brandAdmin).revoke(BRAND_ID, root, "recall");
      const revoked = await readAnchor(registry, BRAND_ID, root);
      await expect(registry.connect(brandAdmin).revoke(BRAND_ID, root, "again"))
        .to.be.revertedWithCustomError(registry, "TraceAnchorAlreadyRevoked")
        .withArgs(BRAND_ID, root);
      expect(await readAnchor(registry, BRAND_ID, root)).to.deep.equal(revoked);
    });

    it("rejects a root that was never anchored", async function () {
      const unknown = randomBytes32();
      await expect(registry.connect(brandAdmin).revoke(BRAND_ID, unknown, "recall"))
        .to.be.revertedWithCustomError(registry, "TraceAnchorNotAnchored")
        .withArgs(BRAND_ID, unknown);
      expect(await readAnchor(registry, BRAND_ID, unknown)).to.deep.equal(NO_ANCHOR);
    });

    it("rejects a root anchored only under another brand", async function () {
      await registerSecondBrand();
      const foreign = randomBytes32();
      await registry.connect(secondSubmitter).anchor(SECOND_BRAND_ID, anchorRequest({ root: foreign }));
      await expect(registry.connect(brandAdmin).revoke(BRAND_ID, foreign, "recall"))
        .to.be.revertedWithCustomError(registry, "TraceAnchorNotAnchored")
        .withArgs(BRAND_ID, foreign);
      expect((await readAnchor(registry, SECOND_BRAND_ID, foreign)).revokedAt).to.equal(0n);
    });

    for (const [label, who] of [
      ["a stranger", () => stranger],
      ["the submitter", () => submitter],
      ["the registrar", () => registrar],
      ["the default admin", () => deployer],
    ] as const) {
      it(`rejects ${label}`, async function () {
        const account = who();
        await expect(registry.connect(account).revoke(BRAND_ID, root, "recall"))
          .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
          .withArgs(account.address, BRAND_ID);
        expect((await readAnchor(registry, BRAND_ID, root)).revokedAt).to.equal(0n);
      });
    }

    it("rejects another brand's admin", async function () {
      await registerSecondBrand();
      await expect(registry.connect(secondBrandAdmin).revoke(BRAND_ID, root, "sabotage"))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(secondBrandAdmin.address, BRAND_ID);
      expect((await readAnchor(registry, BRAND_ID, root)).revokedAt).to.equal(0n);
    });

    it("rejects the pending admin before acceptance", async function () {
      await registry.connect(brandAdmin).transferBrandAdmin(BRAND_ID, relayer.address);
      await expect(registry.connect(relayer).revoke(BRAND_ID, root, "early"))
        .to.be.revertedWithCustomError(registry, "TraceAnchorUnauthorizedBrandAdmin")
        .withArgs(relayer.address, BRAND_ID);
      expect((await readAnchor(registry, BRAND_ID, root)).revokedAt).to.equal(0n);
    });
  });

  describe("verify", function () {
    const recordHashes = [randomBytes32(), randomBytes32(), randomBytes32()];
    const tree = StandardMerkleTree.of(
      recordHashes.map((h) => [h]),
      ["bytes32"],
    );
    const proof = tree.getProof(1);
    const leaf = tree.leafHash([recordHashes[1]!]);

    beforeEach(async function () {
      await anchorOne({ root: tree.root, leafCount: recordHashes.length });
    });

    it("is true for a valid proof of an anchored root", async function () {
      expect(await registry.verify(BRAND_ID, tree.root, proof, leaf)).to.equal(true);
    });

    it("is false once the root is revoked", async function () {
      await expect(registry.connect(brandAdmin).revoke(BRAND_ID, tree.root, "recall"))
        .to.emit(registry, "Revoked")
        .withArgs(BRAND_ID, tree.root, brandAdmin.address, "recall");
      expect(await registry.verify(BRAND_ID, tree.root, proof, leaf)).to.equal(false);
    });

    it("is false for a root that is not anchored", async function () {
      const otherHash = randomBytes32();
      const other = StandardMerkleTree.of([[otherHash], [randomBytes32()]], ["bytes32"]);
      const otherLeaf = other.leafHash([otherHash]);
      expect(await registry.verify(BRAND_ID, other.root, other.getProof([otherHash]), otherLeaf)).to.equal(false);
      expect(await readAnchor(registry, BRAND_ID, other.root)).to.deep.equal(NO_ANCHOR);
    });

    it("is false for a wrong leaf", async function () {
      expect(await registry.verify(BRAND_ID, tree.root, proof, leafOf(randomBytes32()))).to.equal(false);
      expect(await registry.verify(BRAND_ID, tree.root, proof, recordHashes[1]!)).to.equal(false);
    });

    it("is false for another leaf's proof", async function () {
      expect(await registry.verify(BRAND_ID, tree.root, tree.getProof(0), leaf)).to.equal(false);
    });

    it("is false under another brand's id", async function () {
      await registerSecondBrand();
      expect(await registry.verify(SECOND_BRAND_ID, tree.root, proof, leaf)).to.equal(false);
      expect(await registry.verify(UNKNOWN_BRAND_ID, tree.root, proof, leaf)).to.equal(false);
    });

    it("is true for the only leaf of a one-leaf tree with an empty proof", async function () {
      const recordHash = randomBytes32();
      const single = StandardMerkleTree.of([[recordHash]], ["bytes32"]);
      await anchorOne({ root: single.root, leafCount: 1 });
      expect(single.getProof(0)).to.deep.equal([]);
      expect(single.root).to.equal(leafOf(recordHash));
      expect(await registry.verify(BRAND_ID, single.root, [], leafOf(recordHash))).to.equal(true);
    });
  });

  describe("leafOf", function () {
    it("equals the TypeScript mirror for random record hashes", async function () {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (bytes) => {
          const recordHash = ethers.hexlify(bytes);
          expect(await registry.leafOf(recordHash)).to.equal(leafOf(recordHash));
        }),
        { numRuns: 50 },
      );
    });

    it("equals OpenZeppelin StandardMerkleTree's leaf hash", async function () {
      const recordHash = randomBytes32();
      const tree = StandardMerkleTree.of([[recordHash]], ["bytes32"]);
      expect(leafOf(recordHash)).to.equal(tree.leafHash([recordHash]));
      expect(await registry.leafOf(recordHash)).to.equal(tree.leafHash([recordHash]));
    });

    it("is not the plain keccak256 of the record hash", async function () {
      const recordHash = randomBytes32();
      expect(await registry.leafOf(recordHash)).to.not.equal(ethers.keccak256(recordHash));
    });
  });

  describe("supportsInterface", function () {
    it("has the interface ids OpenZeppelin documents", function () {
      expect(INTERFACE_IDS.IAccessControl).to.equal("0x7965db0b");
      expect(INTERFACE_IDS.IAccessControlDefaultAdminRules).to.equal("0x31498786");
    });

    for (const [name, id] of [
      ["IERC165", "0x01ffc9a7"],
      ["IAccessControl", INTERFACE_IDS.IAccessControl],
      ["IAccessControlDefaultAdminRules", INTERFACE_IDS.IAccessControlDefaultAdminRules],
    ] as const) {
      it(`supports ${name}`, async function () {
        expect(await registry.supportsInterface(id)).to.equal(true);
      });
    }

    it("does not support 0xffffffff", async function () {
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("not upgradeable", function () {
    it("has no upgrade or implementation-setting function in its ABI", function () {
      const names: string[] = [];
      registry.interface.forEachFunction((fn) => names.push(fn.name));
      expect(names).to.include("anchor");
      expect(names.filter((name) => /^upgrade|implementation|^setImpl|selfdestruct|^delete/i.test(name))).to.deep.equal(
        [],
      );
    });
  });
});
