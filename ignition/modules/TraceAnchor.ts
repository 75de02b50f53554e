/**
 * Ignition module for TraceAnchor, an alternative to `traceanchor deploy`:
 *   npx hardhat ignition deploy ignition/modules/TraceAnchor.ts --network localhost
 * The deploying account (account 0) is the default admin. Parameters: `adminDelay` (seconds, default
 * 3 days) and `registrar` (default: account 0), which is granted the registrar role. To hand the admin
 * to another account later, use the contract's two-step `beginDefaultAdminTransfer`.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("TraceAnchorModule", (m) => {
  const deployer = m.getAccount(0);
  const adminDelay = m.getParameter("adminDelay", 3 * 24 * 3600);
  const registrar = m.getParameter("registrar", deployer);
  const traceAnchor = m.contract("TraceAnchor", [adminDelay, deployer], { from: deployer });
  const registrarRole = m.staticCall(traceAnchor, "REGISTRAR_ROLE", []);
  m.call(traceAnchor, "grantRole", [registrarRole, registrar], { id: "GrantRegistrar", from: deployer });
  return { traceAnchor };
});
