#!/usr/bin/env node
"use strict";
// OpenZeppelin's side of bench:tree's whole-process comparison, as a plain node process: reads the
// records of a content file (NDJSON, header line first), hashes each with OpenZeppelin's own
// keccak256 (ethereum-cryptography), builds StandardMerkleTree.of over the hashes as ["bytes32"]
// leaves, and prints the root. `node bench/oz-tree.js <content.ndjson>`
const { Buffer } = require("node:buffer");
const fs = require("node:fs");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const { keccak256 } = require("ethereum-cryptography/keccak");

const lines = fs.readFileSync(process.argv[2], "utf8").split("\n");
const leaves = [];
for (let i = 1; i < lines.length; i++) {
  if (lines[i] === "") continue;
  leaves.push([`0x${Buffer.from(keccak256(Buffer.from(lines[i], "utf8"))).toString("hex")}`]);
}
process.stdout.write(`${StandardMerkleTree.of(leaves, ["bytes32"]).root}\n`);
