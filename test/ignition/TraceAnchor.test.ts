import { expect } from "chai";
import hre, { ethers } from "hardhat";
import TraceAnchorModule from "../../ignition/modules/TraceAnchor";

describe("Ignition module TraceAnchorModule", function () {
  it("deploys TraceAnchor with the deployer as admin, the given delay, and the given registrar", async function () {
    const [deployer, registrar] = await ethers.getSigners();
    const { traceAnchor } = await hre.ignition.deploy(TraceAnchorModule, {
      parameters: { TraceAnchorModule: { registrar: registrar!.address, adminDelay: 3600 } },
    });
    const registry = await ethers.getContractAt("TraceAnchor", await traceAnchor.getAddress());
    expect(await registry.defaultAdmin()).to.equal(deployer!.address);
    expect(await registry.defaultAdminDelay()).to.equal(3600n);
    expect(await registry.hasRole(await registry.REGISTRAR_ROLE(), registrar!.address)).to.equal(true);
    expect(await registry.hasRole(await registry.REGISTRAR_ROLE(), deployer!.address)).to.equal(false);
  });
});
