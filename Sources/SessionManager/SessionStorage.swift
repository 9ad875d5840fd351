import Logging

/// Where a context's sessions are kept: its store nodes, which node holds which session, and the
/// key layout on them (msm's non-sticky scheme, `../shared/reference/msm-behaviour.md` §2, §5).
///
/// - The **primary copy** of a session is `<prefix><id>` on the node named in its id (routed by
///   the id, never by re-parsing a key, so prefixes may contain `-` and `.`). A context whose nodes
///   have no ids has one node, and ids without a node part.
/// - With several primary nodes, each write is followed by a **backup copy** `bak:<prefix><id>` on
///   the next available primary node after it in configuration order (skipping down nodes, never
///   a failover node), written after the response by default (``ManagerConfiguration/sessionBackupAsync``).
/// - A read whose primary node is down, or misses on a node that came back empty, reads the backup;
///   a session found only there is **relocated** by the caller (same random part, the backup's
///   node in its id) and written again.
///
/// Node availability is tracked here (``NodeAvailability``): only "unreachable / timed out"
/// marks a node down, never the refusal of one command (a session too large).
final class SessionStorage: Sendable {
    /// One node as the storage uses it.
    struct Node: Sendable {
        let id: String?
        let store: any SessionStore
        let isFailover: Bool
        let availability: NodeAvailability
    }

    let nodes: [Node]
    let keyPrefix: String
    /// Whether session ids carry node ids (any node has an id).
    let encodesNodeIDs: Bool
    /// Whether sessions get backup copies (two or more primary nodes).
    let writesBackups: Bool
    private let logger: Logger
    private let background: BackgroundWork
    private let backupAsync: Bool
    private let backupTimeout: Duration

    init(nodes: [SessionStoreNode], configuration: ManagerConfiguration, background: BackgroundWork, logger: Logger) {
        precondition(!nodes.isEmpty, "a manager needs a store node")
        self.nodes = nodes.map { node in
            Node(id: node.id, store: node.store, isFailover: node.isFailover, availability: NodeAvailability(name: node.id ?? "store"))
        }
        self.keyPrefix = configuration.storageKeyPrefix
        self.encodesNodeIDs = nodes.contains { $0.id != nil }
        self.writesBackups = encodesNodeIDs && nodes.count { !$0.isFailover } > 1
        self.logger = logger
        self.background = background
        self.backupAsync = configuration.sessionBackupAsync
        self.backupTimeout = configuration.sessionBackupTimeout
    }

    /// The store key of a session's primary copy.
    @inline(__always)
    func key(for id: SessionID) -> String { keyPrefix + id.description }

    /// The store key of a session's backup copy.
    func backupKey(for id: SessionID) -> String { "bak:" + keyPrefix + id.description }

    /// The node holding the primary copy of `id`: the one its node part names; `nil` for an id
    /// naming no configured node (or none, while nodes have ids).
    func node(for id: SessionID) -> Node? {
        guard encodesNodeIDs else { return nodes[0] }
        guard let nodeID = id.nodeID else { return nil }
        return nodes.first { $0.id == nodeID }
    }

    /// The node id for a new session: a uniformly random available primary node; a random
    /// available failover node while no primary node is up; `nil` without node ids or when every
    /// node is down (the session then lives in this process's memory until a node is back).
    func nodeForNewSession() -> String? {
        guard encodesNodeIDs else { return nil }
        let up = nodes.filter { $0.availability.isUp }
        return (up.filter { !$0.isFailover }.randomElement() ?? up.randomElement())?.id
    }

    /// The available primary nodes after `node` in configuration order (wrapping around, `node`
    /// itself excluded): the first is where its backup goes, the others where an older backup may be.
    func backupCandidates(after node: Node) -> [Node] {
        guard writesBackups, let start = nodes.firstIndex(where: { $0.id == node.id }) else { return [] }
        return (1..<nodes.count).map { nodes[(start + $0) % nodes.count] }.filter { !$0.isFailover && $0.availability.isUp }
    }

    // MARK: - Operations

    /// What a read found.
    struct Read {
        let bytes: [UInt8]
        /// The node whose backup copy was read because the primary node is down: the session
        /// moves there. `nil`: read from the primary node, or from a backup while the primary
        /// node answers (it lost the copy); then the session stays and is written again.
        let relocateTo: String?
        /// `true` when the bytes came from a backup copy.
        let fromBackup: Bool
    }

    /// Reads a session and resets its time to live; `nil` when no node has it.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no node that could hold it answered.
    func read(_ id: SessionID, ttl: Duration) async throws -> Read? {
        guard let primary = node(for: id) else { return nil }
        guard encodesNodeIDs else {
            return try await primary.store.getAndTouch(key(for: id), ttl: ttl).map { Read(bytes: $0, relocateTo: nil, fromBackup: false) }
        }
        var failure: (any Error)?
        var answered = false
        if primary.availability.isUp {
            do {
                let bytes = try await primary.store.getAndTouch(key(for: id), ttl: ttl)
                primary.availability.worked(logger)
                if let bytes { return Read(bytes: bytes, relocateTo: nil, fromBackup: false) }
                answered = true
            } catch {
                try noteFailure(error, on: primary)
                failure = error
            }
        }
        for candidate in backupCandidates(after: primary) {
            do {
                let bytes = try await candidate.store.getAndTouch(backupKey(for: id), ttl: ttl)
                candidate.availability.worked(logger)
                if let bytes {
                    let moves = !primary.availability.isUp
                    return Read(bytes: bytes, relocateTo: moves ? candidate.id : nil, fromBackup: true)
                }
                answered = true
            } catch {
                try noteFailure(error, on: candidate)
                failure = error
            }
        }
        if !answered {
            throw SessionManagerError(.storeUnavailable, "no store node holding this session answered", underlying: failure)
        }
        return nil
    }

    /// Writes a session's primary copy, then its backup copy; when the session had another id in
    /// the store (`previousID`: an id change or a relocation), deletes the old copies, best effort.
    func write(_ id: SessionID, bytes: [UInt8], ttl: Duration, previousID: SessionID?) async throws {
        guard let primary = node(for: id) else {
            throw SessionManagerError(.storeUnavailable, "the session has no store node")
        }
        do {
            try await primary.store.set(key(for: id), value: bytes, ttl: ttl)
            primary.availability.worked(logger)
        } catch {
            try? noteFailure(error, on: primary)
            throw error
        }
        if let previousID, previousID != id { await deleteOldCopies(of: previousID) }
        guard let backup = backupCandidates(after: primary).first else { return }
        let key = backupKey(for: id)
        let write: @Sendable () async -> Void = { [self] in
            do {
                try await backup.store.set(key, value: bytes, ttl: ttl)
                backup.availability.worked(logger)
            } catch {
                try? noteFailure(error, on: backup)
                logger.debug("backup write failed", metadata: ["sm.node": "\(backup.id ?? "")", "sm.error": "\(error)"])
            }
        }
        if backupAsync {
            background.submit(write)
        } else {
            await background.run(write, timeout: backupTimeout)
        }
    }

    /// Resets the time to live of a session's copies (a session kept in memory by overlapping
    /// requests reads no store, see ``SessionLifecycle``); the backup's after the response.
    func touch(_ id: SessionID, ttl: Duration) async throws {
        guard let primary = node(for: id) else { return }
        do {
            _ = try await primary.store.touch(key(for: id), ttl: ttl)
            primary.availability.worked(logger)
        } catch {
            try? noteFailure(error, on: primary)
            throw error
        }
        guard let backup = backupCandidates(after: primary).first else { return }
        let key = backupKey(for: id)
        background.submit { [self] in
            do {
                _ = try await backup.store.touch(key, ttl: ttl)
            } catch {
                try? noteFailure(error, on: backup)
            }
        }
    }

    /// Deletes a session (invalidation): its primary copy (an error if its node cannot be asked)
    /// and its backup copy (best effort).
    func delete(_ id: SessionID) async throws {
        guard let primary = node(for: id) else { return }
        do {
            try await primary.store.delete(key(for: id))
            primary.availability.worked(logger)
        } catch {
            try? noteFailure(error, on: primary)
            throw error
        }
        if let backup = backupCandidates(after: primary).first {
            let key = backupKey(for: id)
            try? await backup.store.delete(key)
        }
    }

    /// Deletes the copies a session had under an id it no longer has; never an error: the new copy
    /// is written, and what remains of the old ones expires with its time to live.
    private func deleteOldCopies(of id: SessionID) async {
        guard let primary = node(for: id) else { return }
        if primary.availability.isUp {
            do {
                try await primary.store.delete(key(for: id))
            } catch {
                try? noteFailure(error, on: primary)
            }
        }
        // The backup of the old id must go: a client still sending the old id while its node is
        // down would otherwise be served this older copy again.
        for candidate in backupCandidates(after: primary).prefix(1) {
            try? await candidate.store.delete(backupKey(for: id))
        }
    }

    /// Marks `node` down when `error` says it cannot be reached or timed out; rethrows anything else
    /// (the refusal of one command says nothing about the node).
    private func noteFailure(_ error: any Error, on node: Node) throws {
        guard SessionManager.isOutage(error) else { throw error }
        // A single node without id has no alternative: the manager's outage log says it all.
        guard encodesNodeIDs else { return }
        node.availability.failed(error, logger)
    }

    /// Probes each down node once (a cheap command); an answer marks it up.
    func probeDownNodes() async {
        for node in nodes where !node.availability.isUp {
            do {
                _ = try await node.store.touch(keyPrefix + "ping-" + (node.id ?? ""), ttl: .seconds(1))
                node.availability.worked(logger)
            } catch {
                // Still down; logged when it went down.
            }
        }
    }
}
