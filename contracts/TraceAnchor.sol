// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ITraceAnchor} from "./ITraceAnchor.sol";

/**
 * @title TraceAnchor
 * @notice See {ITraceAnchor}. Not upgradeable: there is no proxy and no function that rewrites or
 * deletes an anchor.
 */
contract TraceAnchor is ITraceAnchor, AccessControlDefaultAdminRules, EIP712, Nonces {
    struct Brand {
        address admin;
        address pendingAdmin;
    }

    /// @notice The role that registers brands and assigns GS1 company prefixes.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice The EIP-712 type of a relayed anchor.
    bytes32 public constant ANCHOR_TYPEHASH = keccak256(
        "Anchor(uint64 brandId,bytes32 root,uint8 kind,uint64 leafCount,string contentURI,address submitter,uint256 nonce,uint256 deadline)"
    );

    uint8 private constant _KIND_IDENTITY = 1;
    uint8 private constant _KIND_TRACE = 2;

    uint64 private _brandCount;
    mapping(uint64 brandId => Brand) private _brands;
    mapping(string prefix => uint64 brandId) private _prefixOwner;
    mapping(uint64 brandId => mapping(address account => bytes32 role)) private _submitterRoles;
    mapping(uint64 brandId => mapping(bytes32 root => Anchor)) private _anchors;

    modifier onlyBrandAdmin(uint64 brandId) {
        if (_brands[brandId].admin != msg.sender) revert TraceAnchorUnauthorizedBrandAdmin(msg.sender, brandId);
        _;
    }

    /**
     * @param initialAdminDelay Seconds a default-admin transfer must wait before it can be accepted.
     * @param initialAdmin The default admin, who grants and revokes the registrar role.
     */
    constructor(
        uint48 initialAdminDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(initialAdminDelay, initialAdmin) EIP712("TraceAnchor", "1") {}

    /// @inheritdoc ITraceAnchor
    function registerBrand(
        string calldata name,
        address admin,
        string[] calldata prefixes
    ) external onlyRole(REGISTRAR_ROLE) returns (uint64 brandId) {
        if (bytes(name).length == 0) revert TraceAnchorEmptyName();
        if (admin == address(0)) revert TraceAnchorInvalidAdmin(admin);
        brandId = ++_brandCount;
        _brands[brandId].admin = admin;
        emit BrandRegistered(brandId, admin, name);
        for (uint256 i = 0; i < prefixes.length; ++i) {
            _assignPrefix(brandId, prefixes[i]);
        }
    }

    /// @inheritdoc ITraceAnchor
    function assignPrefix(uint64 brandId, string calldata prefix) external onlyRole(REGISTRAR_ROLE) {
        if (_brands[brandId].admin == address(0)) revert TraceAnchorUnknownBrand(brandId);
        _assignPrefix(brandId, prefix);
    }

    /// @inheritdoc ITraceAnchor
    function releasePrefix(string calldata prefix) external onlyRole(REGISTRAR_ROLE) {
        uint64 owner = _prefixOwner[prefix];
        if (owner == 0) revert TraceAnchorPrefixNotAssigned(prefix);
        delete _prefixOwner[prefix];
        emit PrefixReleased(owner, prefix);
    }

    /// @inheritdoc ITraceAnchor
    function transferBrandAdmin(uint64 brandId, address newAdmin) external onlyBrandAdmin(brandId) {
        _brands[brandId].pendingAdmin = newAdmin;
        emit BrandAdminTransferStarted(brandId, msg.sender, newAdmin);
    }

    /// @inheritdoc ITraceAnchor
    function acceptBrandAdmin(uint64 brandId) external {
        Brand storage brand = _brands[brandId];
        // A zero pending admin can never match msg.sender, so an unknown brand fails here too.
        if (brand.pendingAdmin != msg.sender) revert TraceAnchorUnauthorizedPendingAdmin(msg.sender, brandId);
        address previousAdmin = brand.admin;
        brand.admin = msg.sender;
        delete brand.pendingAdmin;
        emit BrandAdminTransferred(brandId, previousAdmin, msg.sender);
    }

    /// @inheritdoc ITraceAnchor
    function setSubmitter(uint64 brandId, address account, bytes32 role) external onlyBrandAdmin(brandId) {
        if (role == bytes32(0)) revert TraceAnchorInvalidRole(role);
        _submitterRoles[brandId][account] = role;
        emit SubmitterRoleSet(brandId, account, role);
    }

    /// @inheritdoc ITraceAnchor
    function removeSubmitter(uint64 brandId, address account) external onlyBrandAdmin(brandId) {
        if (_submitterRoles[brandId][account] == bytes32(0)) revert TraceAnchorUnauthorizedSubmitter(account, brandId);
        delete _submitterRoles[brandId][account];
        emit SubmitterRemoved(brandId, account);
    }

    /// @inheritdoc ITraceAnchor
    function anchor(uint64 brandId, AnchorRequest calldata request) external {
        _checkSubmitter(brandId, msg.sender);
        _anchor(_anchors[brandId], brandId, request, msg.sender);
    }

    /// @inheritdoc ITraceAnchor
    function anchorMany(uint64 brandId, AnchorRequest[] calldata requests) external {
        _checkSubmitter(brandId, msg.sender);
        mapping(bytes32 root => Anchor) storage brandAnchors = _anchors[brandId];
        for (uint256 i = 0; i < requests.length; ++i) {
            _anchor(brandAnchors, brandId, requests[i], msg.sender);
        }
    }

    /// @inheritdoc ITraceAnchor
    function anchorWithSig(
        uint64 brandId,
        AnchorRequest calldata request,
        address submitter,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert TraceAnchorExpiredSignature(deadline);
        bytes32 structHash = keccak256(
            abi.encode(
                ANCHOR_TYPEHASH,
                brandId,
                request.root,
                request.kind,
                request.leafCount,
                keccak256(bytes(request.contentURI)),
                submitter,
                _useNonce(submitter),
                deadline
            )
        );
        bytes32 digest = _hashTypedDataV4(structHash);
        // Try ECDSA first: an account with code (ERC-1271 wallet) is looked up only when that fails,
        // which spares every plain-key submitter a cold EXTCODESIZE.
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (
            (error != ECDSA.RecoverError.NoError || recovered != submitter) &&
            !SignatureChecker.isValidERC1271SignatureNowCalldata(submitter, digest, signature)
        ) {
            revert TraceAnchorInvalidSignature(submitter);
        }
        _checkSubmitter(brandId, submitter);
        _anchor(_anchors[brandId], brandId, request, submitter);
    }

    /// @inheritdoc ITraceAnchor
    function revoke(uint64 brandId, bytes32 root, string calldata reason) external onlyBrandAdmin(brandId) {
        Anchor storage stored = _anchors[brandId][root];
        if (stored.anchoredAt == 0) revert TraceAnchorNotAnchored(brandId, root);
        if (stored.revokedAt != 0) revert TraceAnchorAlreadyRevoked(brandId, root);
        stored.revokedAt = uint48(block.timestamp);
        emit Revoked(brandId, root, msg.sender, reason);
    }

    /// @inheritdoc ITraceAnchor
    function brandCount() external view returns (uint64) {
        return _brandCount;
    }

    /// @inheritdoc ITraceAnchor
    function brandAdmin(uint64 brandId) external view returns (address) {
        return _brands[brandId].admin;
    }

    /// @inheritdoc ITraceAnchor
    function pendingBrandAdmin(uint64 brandId) external view returns (address) {
        return _brands[brandId].pendingAdmin;
    }

    /// @inheritdoc ITraceAnchor
    function brandOfPrefix(string calldata prefix) external view returns (uint64) {
        return _prefixOwner[prefix];
    }

    /// @inheritdoc ITraceAnchor
    function brandOfGtin(string calldata gtin) external view returns (uint64) {
        bytes calldata digits = bytes(gtin);
        if (digits.length != 14 || !_allDigits(digits)) revert TraceAnchorInvalidGtin(gtin);
        // GS1 prefixes are assigned so that none is a prefix of another; longest first is the safe
        // reading should a registrar ever break that rule.
        for (uint256 length = 12; length >= 6; --length) {
            uint64 owner = _prefixOwner[string(digits[1:1 + length])];
            if (owner != 0) return owner;
        }
        return 0;
    }

    /// @inheritdoc ITraceAnchor
    function submitterRole(uint64 brandId, address account) external view returns (bytes32) {
        return _submitterRoles[brandId][account];
    }

    /// @inheritdoc ITraceAnchor
    function isSubmitter(uint64 brandId, address account) external view returns (bool) {
        return _submitterRoles[brandId][account] != bytes32(0);
    }

    /// @inheritdoc ITraceAnchor
    function anchorOf(uint64 brandId, bytes32 root) external view returns (Anchor memory) {
        return _anchors[brandId][root];
    }

    /// @inheritdoc ITraceAnchor
    function verify(uint64 brandId, bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool) {
        Anchor storage stored = _anchors[brandId][root];
        return stored.anchoredAt != 0 && stored.revokedAt == 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc ITraceAnchor
    function leafOf(bytes32 recordHash) external pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(recordHash))));
    }

    function _assignPrefix(uint64 brandId, string calldata prefix) private {
        bytes calldata digits = bytes(prefix);
        if (digits.length < 6 || digits.length > 12 || !_allDigits(digits)) revert TraceAnchorInvalidPrefix(prefix);
        uint64 owner = _prefixOwner[prefix];
        if (owner != 0) revert TraceAnchorPrefixTaken(prefix, owner);
        _prefixOwner[prefix] = brandId;
        emit PrefixAssigned(brandId, prefix);
    }

    function _anchor(
        mapping(bytes32 root => Anchor) storage brandAnchors,
        uint64 brandId,
        AnchorRequest calldata request,
        address submitter
    ) private {
        uint8 kind = request.kind;
        if (kind != _KIND_IDENTITY && kind != _KIND_TRACE) revert TraceAnchorInvalidKind(kind);
        bytes32 root = request.root;
        uint64 leafCount = request.leafCount;
        if (root == bytes32(0) || leafCount == 0) revert TraceAnchorEmptyBatch(root, leafCount);
        Anchor storage stored = brandAnchors[root];
        if (stored.anchoredAt != 0) revert TraceAnchorAlreadyAnchored(brandId, root);
        // One SSTORE of the packed slot; field-by-field assignment would read it back between writes.
        uint256 packed = uint256(kind) | (uint256(leafCount) << 8) | (uint256(block.timestamp) << 72);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(stored.slot, packed)
        }
        emit Anchored(brandId, root, submitter, kind, leafCount, request.contentURI);
    }

    function _checkSubmitter(uint64 brandId, address account) private view {
        // Roles exist only for registered brands, so this also rejects unknown brands.
        if (_submitterRoles[brandId][account] == bytes32(0)) revert TraceAnchorUnauthorizedSubmitter(account, brandId);
    }

    function _allDigits(bytes calldata digits) private pure returns (bool) {
        for (uint256 i = 0; i < digits.length; ++i) {
            if (digits[i] < "0" || digits[i] > "9") return false;
        }
        return true;
    }
}
