import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { AbiCoder, TypedDataEncoder, Wallet, keccak256, recoverAddress, toUtf8Bytes } from "ethers";
import { ValidationError } from "../../core/errors";
import {
  LINK_SET_TYPES,
  LINK_TYPES,
  MAX_LINKS,
  checkLink,
  linkSetDigest,
  linkSetDomain,
  parseLinkSet,
  recoverLinkSetSigner,
  type LinkSetLink,
  type LinkSetMessage,
} from "../../core/link-set";

const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = linkSetDomain(31337n, CONTRACT);
// A fixed development key: the test must not depend on randomness.
const brandAdmin = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const link = (overrides: Partial<LinkSetLink> = {}): LinkSetLink => ({
  linkType: "gs1:pip",
  href: "https://brand.example/products/infant-formula",
  title: "Product information",
  hreflang: "en",
  mediaType: "text/html",
  ...overrides,
});
const message: LinkSetMessage = {
  brandId: "1",
  gtin: "09506000134352",
  issuedAt: 1_767_225_600,
  links: [
    link(),
    link({
      linkType: "gs1:instructions",
      href: "https://brand.example/ifu.pdf",
      title: "Instructions",
      hreflang: "",
      mediaType: "application/pdf",
    }),
  ],
};

/** The field that a ValidationError names, or "no error". */
function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.field ?? "(none)";
    throw error;
  }
  return "no error";
}

describe("core/link-set", function () {
  describe("EIP-712 digest", function () {
    it("is the EIP-712 hash of the struct, computed here from the spec without ethers' encoder", function () {
      const coder = AbiCoder.defaultAbiCoder();
      const hashString = (s: string): string => keccak256(toUtf8Bytes(s));
      const linkType = "Link(string linkType,string href,string title,string hreflang,string mediaType)";
      const setType = `LinkSet(uint64 brandId,string gtin,uint64 issuedAt,Link[] links)${linkType}`;
      const linkHash = (l: LinkSetLink): string =>
        keccak256(
          coder.encode(
            ["bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"],
            [
              hashString(linkType),
              hashString(l.linkType),
              hashString(l.href),
              hashString(l.title),
              hashString(l.hreflang),
              hashString(l.mediaType),
            ],
          ),
        );
      const linksHash = keccak256(`0x${message.links.map((l) => linkHash(l).slice(2)).join("")}`);
      const structHash = keccak256(
        coder.encode(
          ["bytes32", "uint64", "bytes32", "uint64", "bytes32"],
          [hashString(setType), message.brandId, hashString(message.gtin), message.issuedAt, linksHash],
        ),
      );
      const domainHash = keccak256(
        coder.encode(
          ["bytes32", "bytes32", "bytes32", "uint256", "address"],
          [
            hashString("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
            hashString("TraceAnchor Links"),
            hashString("1"),
            31337n,
            CONTRACT,
          ],
        ),
      );
      expect(linkSetDigest(domain, message)).to.equal(keccak256(`0x1901${domainHash.slice(2)}${structHash.slice(2)}`));
    });

    it("has the domain name, version, chain and contract the API checks", function () {
      expect(domain).to.deep.equal({
        name: "TraceAnchor Links",
        version: "1",
        chainId: 31337n,
        verifyingContract: CONTRACT,
      });
      expect(linkSetDomain("31337", CONTRACT.toLowerCase())).to.deep.equal(domain);
      expect(fieldOf(() => linkSetDomain(1n, "0x1234"))).to.equal("verifyingContract");
    });
  });

  describe("signatures", function () {
    let signature: string;
    before(async function () {
      signature = await brandAdmin.signTypedData(domain, LINK_SET_TYPES, message);
    });

    it("recovers the signer of ethers' Wallet.signTypedData, as the digest's signer", function () {
      expect(recoverLinkSetSigner(domain, message, signature)).to.equal(brandAdmin.address.toLowerCase());
      expect(recoverAddress(linkSetDigest(domain, message), signature)).to.equal(brandAdmin.address);
    });

    const tampered: ReadonlyArray<[string, LinkSetMessage]> = [
      ["brandId", { ...message, brandId: "2" }],
      ["gtin", { ...message, gtin: "09506000134376" }],
      ["issuedAt", { ...message, issuedAt: message.issuedAt + 1 }],
      ["a link dropped", { ...message, links: message.links.slice(0, 1) }],
      ["links reordered", { ...message, links: [...message.links].reverse() }],
      ...(["linkType", "href", "title", "hreflang", "mediaType"] as const).map((key): [string, LinkSetMessage] => [
        `links.0.${key}`,
        {
          ...message,
          links: [
            {
              ...link(),
              [key]: key === "linkType" ? "gs1:recipeInfo" : key === "href" ? "https://brand.example/other" : "x",
            },
            ...message.links.slice(1),
          ],
        },
      ]),
    ];
    for (const [what, changed] of tampered) {
      it(`does not recover the signer when ${what} is changed`, function () {
        expect(recoverLinkSetSigner(domain, changed, signature)).to.not.equal(brandAdmin.address.toLowerCase());
      });
    }

    for (const [what, other] of [
      ["chainId", { ...domain, chainId: 1n }],
      ["verifyingContract", { ...domain, verifyingContract: "0x0000000000000000000000000000000000000001" }],
      ["name", { ...domain, name: "TraceAnchor" }],
      ["version", { ...domain, version: "2" }],
    ] as const) {
      it(`does not recover the signer under another domain ${what}`, function () {
        expect(recoverLinkSetSigner(other, message, signature)).to.not.equal(brandAdmin.address.toLowerCase());
      });
    }

    it("refuses a malformed signature naming the field", function () {
      expect(fieldOf(() => recoverLinkSetSigner(domain, message, "0x1234"))).to.equal("signature");
      expect(fieldOf(() => recoverLinkSetSigner(domain, message, `0x${"00".repeat(65)}`))).to.equal("signature");
    });
  });

  describe("parseLinkSet", function () {
    const withLink = (overrides: Record<string, unknown>): unknown => ({
      ...message,
      links: [{ ...link(), ...overrides }],
    });

    it("returns exactly the signed fields of a valid message", function () {
      expect(parseLinkSet(JSON.parse(JSON.stringify(message)))).to.deep.equal(message);
      expect(parseLinkSet({ ...message, links: [] }).links).to.deep.equal([]);
      expect(checkLink(link({ href: "http://localhost:8080/p", hreflang: "pt-BR", mediaType: "" }))).to.include({
        hreflang: "pt-BR",
      });
    });

    it("accepts every listed link type and the common ones GS1 names", function () {
      for (const linkType of LINK_TYPES) expect(checkLink(link({ linkType })).linkType).to.equal(linkType);
      expect(LINK_TYPES).to.include.members([
        "gs1:pip",
        "gs1:instructions",
        "gs1:certificationInfo",
        "gs1:recipeInfo",
        "gs1:epil",
        "gs1:sustainabilityInfo",
      ]);
    });

    const cases: ReadonlyArray<[string, unknown, string]> = [
      ["not an object", [], "(none)"],
      ["a field outside the struct", { ...message, note: "x" }, "note"],
      ["a number as brandId", { ...message, brandId: 1 }, "brandId"],
      ["brandId 0", { ...message, brandId: "0" }, "brandId"],
      ["brandId above uint64", { ...message, brandId: (2n ** 64n).toString() }, "brandId"],
      ["a bad check digit", { ...message, gtin: "09506000134350" }, "gtin"],
      ["a GTIN-13", { ...message, gtin: "9506000134352" }, "gtin"],
      ["issuedAt as a string", { ...message, issuedAt: "1767225600" }, "issuedAt"],
      ["a fractional issuedAt", { ...message, issuedAt: 1.5 }, "issuedAt"],
      ["links not an array", { ...message, links: {} }, "links"],
      ["too many links", { ...message, links: Array.from({ length: MAX_LINKS + 1 }, () => link()) }, "links"],
      ["an unknown link type", withLink({ linkType: "gs1:notAType" }), "links.0.linkType"],
      ["a full link type URI", withLink({ linkType: "https://gs1.org/voc/pip" }), "links.0.linkType"],
      [
        "gs1:verificationService, the resolver's own",
        withLink({ linkType: "gs1:verificationService" }),
        "links.0.linkType",
      ],
      ["an http href", withLink({ href: "http://brand.example/p" }), "links.0.href"],
      ["a javascript: href", withLink({ href: "javascript:alert(1)" }), "links.0.href"],
      ["a relative href", withLink({ href: "/p" }), "links.0.href"],
      ["credentials in the href", withLink({ href: "https://user:pw@brand.example/p" }), "links.0.href"],
      ["a space in the href", withLink({ href: "https://brand.example/a b" }), "links.0.href"],
      ["an empty title", withLink({ title: "" }), "links.0.title"],
      ["a blank title", withLink({ title: "   " }), "links.0.title"],
      ["a 201-character title", withLink({ title: "t".repeat(201) }), "links.0.title"],
      ["a bad hreflang", withLink({ hreflang: "english language" }), "links.0.hreflang"],
      ["a bad mediaType", withLink({ mediaType: "html" }), "links.0.mediaType"],
      [
        "a missing field",
        { ...message, links: [{ linkType: "gs1:pip", href: "https://brand.example/", title: "t", hreflang: "" }] },
        "links.0.mediaType",
      ],
      ["an extra link field", withLink({ rel: "x" }), "links.0.rel"],
      [
        "the same type and language twice",
        { ...message, links: [link(), link({ href: "https://brand.example/2", hreflang: "EN" })] },
        "links.1",
      ],
    ];
    for (const [what, value, field] of cases) {
      it(`refuses ${what}, naming ${field}`, function () {
        expect(fieldOf(() => parseLinkSet(value))).to.equal(field);
      });
    }

    it("accepts a 200-character title and the same type in two languages", function () {
      expect(fieldOf(() => parseLinkSet(withLink({ title: "t".repeat(200) })))).to.equal("no error");
      expect(fieldOf(() => parseLinkSet({ ...message, links: [link(), link({ hreflang: "fr" })] }))).to.equal(
        "no error",
      );
    });
  });

  describe("docs/links.md worked example", function () {
    const doc = readFileSync(path.resolve(__dirname, "../../docs/links.md"), "utf8");
    const example: LinkSetMessage = {
      brandId: "1",
      gtin: "09506000134352",
      issuedAt: 1_767_225_600,
      links: [
        {
          linkType: "gs1:pip",
          href: "https://sunrise.example/formula",
          title: "Sunrise infant formula",
          hreflang: "en",
          mediaType: "text/html",
        },
        {
          linkType: "gs1:instructions",
          href: "https://sunrise.example/prepare.pdf",
          title: "How to prepare",
          hreflang: "",
          mediaType: "application/pdf",
        },
      ],
    };

    it("shows the type string, message, digest and signature our code computes", async function () {
      expect(doc).to.include(TypedDataEncoder.from(LINK_SET_TYPES).encodeType("LinkSet"));
      expect(doc).to.include(JSON.stringify(example));
      expect(doc).to.include(`Digest: \`${linkSetDigest(domain, example)}\``);
      expect(doc).to.include(`Signature: \`${await brandAdmin.signTypedData(domain, LINK_SET_TYPES, example)}\``);
      expect(doc).to.include(brandAdmin.address);
    });
  });
});
