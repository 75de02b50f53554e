// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ITraceAnchor
 * @notice Registry of Merkle roots of product-record batches (Protocol v1 of TraceAnchor).
 *
 * A registrar onboards brands and assigns them GS1 company prefixes. Each brand's admin names the
 * accounts allowed to submit batches for it, each with a role label ("factory", "logistics", ...).
 * A submitter anchors the Merkle root of a batch of identity records (one per serialised item) or
 * of trace records (EPCIS 2.0 events). Anchors are keyed by (brandId, root), so nobody can block a
 * brand's anchor by front-running its root under another brand. An anchor is never overwritten or
 * deleted; the brand admin may only mark it revoked, which is permanent and stays readable.
 *
 * Leaves follow OpenZeppelin's StandardMerkleTree with leaf encoding ["bytes32"] over a record
 * hash: `leaf = keccak256(bytes.concat(keccak256(abi.encode(recordHash))))`.
 */
interface ITraceAnchor {
    /// @notice An anchored batch. `kind` is 1 (identity) or 2 (trace); `revokedAt` is 0 while active.
    struct Anchor {
        uint8 kind;
        uint64 leafCount;
        uint48 anchoredAt;
        uint48 revokedAt;
    }

    /// @notice One batch to anchor: its Merkle root, kind, number of leaves and where its content lives.
    struct AnchorRequest {
        bytes32 root;
        uint8 kind;
        uint64 leafCount;
        string contentURI;
    }

    /// @notice Emitted when the registrar registers brand `brandId` with admin `admin`.
    event BrandRegistered(uint64 indexed brandId, address indexed admin, string name);

    /// @notice Emitted when `admin` of brand `brandId` proposes `pendingAdmin` (address(0) cancels).
    event BrandAdminTransferStarted(uint64 indexed brandId, address indexed admin, address indexed pendingAdmin);

    /// @notice Emitted when `newAdmin` accepts the admin of brand `brandId`, replacing `previousAdmin`.
    event BrandAdminTransferred(uint64 indexed brandId, address indexed previousAdmin, address indexed newAdmin);

    /// @notice Emitted when GS1 company prefix `prefix` is assigned to brand `brandId`.
    event PrefixAssigned(uint64 indexed brandId, string prefix);

    /// @notice Emitted when GS1 company prefix `prefix` is taken away from brand `brandId`.
    event PrefixReleased(uint64 indexed brandId, string prefix);

    /// @notice Emitted when the brand admin gives `account` the submitter role label `role` for `brandId`.
    event SubmitterRoleSet(uint64 indexed brandId, address indexed account, bytes32 indexed role);

    /// @notice Emitted when the brand admin removes `account` from the submitters of `brandId`.
    event SubmitterRemoved(uint64 indexed brandId, address indexed account);

    /// @notice Emitted when `submitter` anchors `root` for `brandId`. For a relayed anchor the submitter
    /// is the signer, not the transaction sender.
    event Anchored(
        uint64 indexed brandId,
        bytes32 indexed root,
        address indexed submitter,
        uint8 kind,
        uint64 leafCount,
        string contentURI
    );

    /// @notice Emitted when `admin` revokes the anchor (`brandId`, `root`) for `reason`.
    event Revoked(uint64 indexed brandId, bytes32 indexed root, address indexed admin, string reason);

    /// @notice `brandId` is not a registered brand.
    error TraceAnchorUnknownBrand(uint64 brandId);

    /// @notice `account` is not the admin of `brandId`.
    error TraceAnchorUnauthorizedBrandAdmin(address account, uint64 brandId);

    /// @notice `account` is not the pending admin of `brandId`.
    error TraceAnchorUnauthorizedPendingAdmin(address account, uint64 brandId);

    /// @notice `account` is not a submitter of `brandId`.
    error TraceAnchorUnauthorizedSubmitter(address account, uint64 brandId);

    /// @notice `account` cannot be a brand admin (the zero address).
    error TraceAnchorInvalidAdmin(address account);

    /// @notice A brand needs a non-empty name.
    error TraceAnchorEmptyName();

    /// @notice A submitter role label must not be zero (use `removeSubmitter`).
    error TraceAnchorInvalidRole(bytes32 role);

    /// @notice `prefix` is not 6 to 12 ASCII digits.
    error TraceAnchorInvalidPrefix(string prefix);

    /// @notice `prefix` already belongs to `brandId`.
    error TraceAnchorPrefixTaken(string prefix, uint64 brandId);

    /// @notice `prefix` belongs to no brand.
    error TraceAnchorPrefixNotAssigned(string prefix);

    /// @notice `gtin` is not 14 ASCII digits.
    error TraceAnchorInvalidGtin(string gtin);

    /// @notice `kind` is neither 1 (identity) nor 2 (trace).
    error TraceAnchorInvalidKind(uint8 kind);

    /// @notice A batch needs a non-zero root and at least one leaf.
    error TraceAnchorEmptyBatch(bytes32 root, uint64 leafCount);

    /// @notice (`brandId`, `root`) is anchored already.
    error TraceAnchorAlreadyAnchored(uint64 brandId, bytes32 root);

    /// @notice (`brandId`, `root`) is not anchored.
    error TraceAnchorNotAnchored(uint64 brandId, bytes32 root);

    /// @notice (`brandId`, `root`) is revoked already.
    error TraceAnchorAlreadyRevoked(uint64 brandId, bytes32 root);

    /// @notice The signature's `deadline` has passed.
    error TraceAnchorExpiredSignature(uint256 deadline);

    /// @notice The signature is not `submitter`'s over this request, chain, contract and nonce.
    error TraceAnchorInvalidSignature(address submitter);

    /// @notice Registers a brand with `admin` and assigns it `prefixes`. Registrar only.
    /// @return brandId The new brand's id; ids start at 1 and increase by one.
    function registerBrand(
        string calldata name,
        address admin,
        string[] calldata prefixes
    ) external returns (uint64 brandId);

    /// @notice Assigns the GS1 company prefix `prefix` (6 to 12 digits) to `brandId`. Registrar only.
    function assignPrefix(uint64 brandId, string calldata prefix) external;

    /// @notice Takes `prefix` away from the brand that holds it (a lapsed GS1 licence). Registrar only.
    function releasePrefix(string calldata prefix) external;

    /// @notice Starts handing the admin of `brandId` to `newAdmin`, who must accept it; address(0)
    /// cancels a pending transfer. Brand admin only. Until accepted, the current admin stays in charge.
    function transferBrandAdmin(uint64 brandId, address newAdmin) external;

    /// @notice Completes the admin transfer of `brandId`. Pending admin only.
    function acceptBrandAdmin(uint64 brandId) external;

    /// @notice Lets `account` submit batches for `brandId` under the label `role`, or changes its label.
    /// Brand admin only.
    function setSubmitter(uint64 brandId, address account, bytes32 role) external;

    /// @notice Stops `account` from submitting for `brandId`. Brand admin only.
    function removeSubmitter(uint64 brandId, address account) external;

    /// @notice Anchors one batch for `brandId`. Submitter only.
    function anchor(uint64 brandId, AnchorRequest calldata request) external;

    /// @notice Anchors several batches for `brandId` in one transaction. Submitter only; all or none.
    function anchorMany(uint64 brandId, AnchorRequest[] calldata requests) external;

    /// @notice Anchors a batch signed (EIP-712 `Anchor`) by `submitter`; anyone may send it, so a relayer
    /// can pay the gas. The signature covers the request, `submitter`'s current nonce and `deadline`.
    function anchorWithSig(
        uint64 brandId,
        AnchorRequest calldata request,
        address submitter,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Revokes the anchor (`brandId`, `root`) for `reason`, permanently. Brand admin only.
    function revoke(uint64 brandId, bytes32 root, string calldata reason) external;

    /// @notice The number of registered brands (the highest brand id).
    function brandCount() external view returns (uint64);

    /// @notice The admin of `brandId`, or address(0) if it is not registered.
    function brandAdmin(uint64 brandId) external view returns (address);

    /// @notice The account that may accept the admin of `brandId`, or address(0).
    function pendingBrandAdmin(uint64 brandId) external view returns (address);

    /// @notice The brand holding GS1 company prefix `prefix`, or 0.
    function brandOfPrefix(string calldata prefix) external view returns (uint64);

    /// @notice The brand holding the longest GS1 company prefix that GTIN-14 `gtin` starts with after its
    /// indicator digit, or 0.
    function brandOfGtin(string calldata gtin) external view returns (uint64);

    /// @notice The role label of `account` for `brandId`, or zero if it is not a submitter.
    function submitterRole(uint64 brandId, address account) external view returns (bytes32);

    /// @notice Whether `account` may submit batches for `brandId`.
    function isSubmitter(uint64 brandId, address account) external view returns (bool);

    /// @notice The anchor (`brandId`, `root`); all fields are zero if it does not exist.
    function anchorOf(uint64 brandId, bytes32 root) external view returns (Anchor memory);

    /// @notice True only if (`brandId`, `root`) is anchored, not revoked, and `proof` proves `leaf`
    /// (OpenZeppelin MerkleProof, sorted pairs).
    function verify(uint64 brandId, bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool);

    /// @notice The Protocol v1 leaf of a record hash, for use with `verify`.
    function leafOf(bytes32 recordHash) external pure returns (bytes32);
}
