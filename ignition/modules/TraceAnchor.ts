/**
 * Ignition module for TraceAnchor, an alternative to `traceanchor deploy`:
 *   npx hardhat ignition deploy ignition/modules/TraceAnchor.ts --network localhost
 * Parameters: `adminDelay` (seconds, default 3 days) and `admin` (default: the first account).
 * The admin is granted the registrar role so it can onboard brands at once.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("TraceAnchorModule", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const adminDelay = m.getParameter("adminDelay", 3 * 24 * 3600);
  const traceAnchor = m.contract("TraceAnchor", [adminDelay, admin]);
  const registrarRole = m.staticCall(traceAnchor, "REGISTRAR_ROLE", []);
  m.call(traceAnchor, "grantRole", [registrarRole, admin], { id: "GrantRegistrar" });
  return { traceAnchor };
});
