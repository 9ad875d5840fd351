import Logging
import Synchronization

/// Where a context's sessions are kept: its store nodes, which node holds which session, and the
/// key layout on them (msm's non-sticky scheme, `../shared/reference/msm-behaviour.md` §2, §5).
///
/// - The **primary copy** of a session is `<prefix>{<random>}<rest of id>` on the node named in its id (routed by
///   the id, never by re-parsing a key, so prefixes may contain `-` and `.`). A context whose nodes
///   have no ids has one node, and ids without a node part.
/// - With several primary nodes, each write is followed by a **backup copy** `bak:<prefix><id>` on
///   the next available primary node after it in configuration order (skipping down nodes, never
///   a failover node), sent beside the primary write by default (``ManagerConfiguration/sessionBackupAsync``).
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
        let statistics: NodeStatistics
    }

    let nodes: [Node]
    /// The keys of the context's sessions.
    let keys: SessionKeys
    /// Whether ids carry node ids and copies get backups.
    let policy: SessionPolicy
    let logger: Logger
    private let background: BackgroundWork
    private let backupAsync: Bool
    private let backupTimeout: Duration
    /// The instance each node last named (see ``restartedNodes()``).
    private let instances = Mutex(NodeInstances())

    init(nodes: [SessionStoreNode], policy: SessionPolicy, configuration: ManagerConfiguration, background: BackgroundWork, metrics: SessionMetrics, logger: Logger) {
        precondition(!nodes.isEmpty, "a manager needs a store node")
        self.nodes = nodes.map { node in
            let name = node.id ?? "store"
            let nodeMetrics = metrics.node(name)
            return Node(
                id: node.id,
                store: node.store,
                isFailover: node.isFailover,
                availability: NodeAvailability(
                    name: name,
                    metrics: nodeMetrics,
                    logger: logger,
                    announcements: policy.encodesNodeIDs ? .oneOfSeveral : .soleNode(sticky: policy.isSticky)
                ),
                statistics: NodeStatistics(metrics: nodeMetrics)
            )
        }
        self.availabilities = self.nodes.map(\.availability)
        self.failoverIDs = self.nodes.filter(\.isFailover).compactMap(\.id)
        self.keys = SessionKeys(prefix: configuration.storageKeyPrefix)
        self.policy = policy
        self.logger = logger
        self.background = background
        self.backupAsync = configuration.sessionBackupAsync
        self.backupTimeout = configuration.sessionBackupTimeout
        // One notion of "down" per node: the store's connections report to its availability too.
        for node in self.nodes {
            (node.store as? any ReportsReachability)?.reportReachability(to: node.availability)
        }
    }

    /// The store key of a session's primary copy (see ``SessionID/storeKey(prefix:)``).
    @inline(__always)
    func key(for id: SessionID) -> String { keys.primary(id) }


    /// The node holding the primary copy of `id`: the one its node part names; `nil` for an id
    /// naming no configured node (or none, while nodes have ids).
    func node(for id: SessionID) -> Node? {
        guard policy.encodesNodeIDs else { return nodes[0] }
        guard let nodeID = id.nodeID else { return nil }
        return nodes.first { $0.id == nodeID }
    }

    /// The node id for a new session: a uniformly random available primary node; a random
    /// available failover node while no primary node is up; `nil` without node ids or when every
    /// node is down (the session then lives in this process's memory until a node is back).
    func nodeForNewSession() -> String? {
        guard policy.encodesNodeIDs else { return nil }
        let up = nodes.filter { $0.availability.isUp }
        return (up.filter { !$0.isFailover }.randomElement() ?? up.randomElement())?.id
    }

    /// The ids of the failover nodes (a session on one moves to a primary node once one is up).
    private let failoverIDs: [String]

    /// Whether the node `id` is a failover node.
    @inline(__always)
    func isFailover(_ id: String) -> Bool { !failoverIDs.isEmpty && failoverIDs.contains(id) }

    /// Whether the node `id` is a primary (not a failover) node.
    func isPrimary(_ id: String) -> Bool { nodes.contains { $0.id == id && !$0.isFailover } }

    /// Whether every node is up: one atomic load per node, so a request can skip looking up its
    /// session's node (which reads the node id out of the session id) in the usual case.
    var allNodesUp: Bool { availabilities.allSatisfy { $0.isUp } }
    /// Each node's availability, in node order (not read through ``nodes``: copying a `Node`
    /// retains four references).
    private let availabilities: [NodeAvailability]

    /// The available primary nodes after `node` in configuration order (wrapping around, `node`
    /// itself excluded): the first is where its backup goes, the others where an older backup may be.
    ///
    /// Sticky, a session on a failover node (this app node's own store, put there while the
    /// primary nodes were down) gets a backup on a primary node too, even with one primary node:
    /// with peer endpoints (`<SessionPeer>`) the failover node dies with this app node, and the
    /// backup is what another app node takes the session over from.
    func backupCandidates(after node: Node) -> [Node] {
        guard policy.writesBackups || (policy.isSticky && node.isFailover), let start = nodes.firstIndex(where: { $0.id == node.id }) else { return [] }
        return (1..<nodes.count).map { nodes[(start + $0) % nodes.count] }.filter { !$0.isFailover && $0.availability.isUp }
    }

    /// Where a read looks for a backup copy when the primary node is down or missed: the backup
    /// candidates (probed when none is up), then, sticky, this app node's up failover nodes,
    /// where another app node put the backup of a session on its own failover node (see
    /// ``backupCandidates(after:)``: its primary node is one of our failover nodes).
    func backupReadCandidates(after node: Node) async -> [Node] {
        let candidates = await backupCandidatesProbing(after: node)
        guard policy.isSticky && policy.encodesNodeIDs else { return candidates }
        return candidates + nodes.filter { $0.isFailover && $0.id != node.id && $0.availability.isUp }
    }

    // MARK: - Operations

    /// The time to live of a backup copy: a quarter longer than the session's. A session only read
    /// slides its primary's time to live with every read, and its backup is rewritten at most once
    /// per quarter (see ``SessionManager``), so the backup always outlives the primary.
    static func backupTTL(_ ttl: Duration) -> Duration { ttl + ttl.quarter }

    /// What a read found.
    struct Read {
        let bytes: [UInt8]
        /// The node whose backup copy was read because the primary node is down: the session
        /// moves there. `nil`: read from the primary node, or from a backup while the primary
        /// node answers (it lost the copy); then the session stays and is written again.
        let relocateTo: String?
        /// `true` when the bytes came from a backup copy.
        let fromBackup: Bool
        /// Where the bytes came from (to delete them if they are unreadable).
        fileprivate let node: Node
        fileprivate let key: String
    }

    /// Runs one command on `node`: an answer marks the node up, a failure to answer (unreachable,
    /// timed out) marks it down, a refusal is only counted (``StoreFailureKind``). The error is
    /// rethrown either way. Its duration and outcome go to the node's statistics.
    func command<T>(on node: Node, _ body: (any SessionStore) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            let result = try await body(node.store)
            node.statistics.operation(nanoseconds: (ContinuousClock.now - start).nanosecondCount, outcome: .answered)
            node.availability.worked(startedAt: start)
            return result
        } catch {
            let outage = StoreFailureKind.isOutage(error)
            node.statistics.operation(nanoseconds: (ContinuousClock.now - start).nanosecondCount, outcome: outage ? .unanswered : .refused)
            if outage {
                node.availability.failed(error)
            } else {
                // The node answered: it is up, whatever it thought of this command.
                node.availability.worked(startedAt: start)
            }
            throw error
        }
    }

    /// Reads a session and resets its time to live; `nil` when no node has it.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no node that could hold it answered.
    func read(_ id: SessionID, ttl: Duration) async throws -> Read? {
        guard let primary = node(for: id) else { return nil }
        let key = key(for: id)
        guard policy.encodesNodeIDs else {
            guard let bytes = try await command(on: primary, { try await $0.getAndTouch(key, ttl: ttl) }) else { return nil }
            primary.statistics.loaded()
            return Read(bytes: bytes, relocateTo: nil, fromBackup: false, node: primary, key: key)
        }
        var failure: (any Error)?
        var answered = false
        if primary.availability.isUp {
            do {
                if let bytes = try await command(on: primary, { try await $0.getAndTouch(key, ttl: ttl) }) {
                    primary.statistics.loaded()
                    return Read(bytes: bytes, relocateTo: nil, fromBackup: false, node: primary, key: key)
                }
                answered = true
            } catch where StoreFailureKind.isOutage(error) {
                failure = error
            }
        }
        return try await readBackup(of: primary, key: key, ttl: ttl, skipping: nil, answered: answered, failure: failure)
    }

    /// Reads the backup copies after the primary missed (`answered`) or failed (`failure`);
    /// `skipping`: a node already asked.
    private func readBackup(of primary: Node, key: String, ttl: Duration, skipping: Node?, answered: Bool, failure: (any Error)?) async throws -> Read? {
        var answered = answered
        var failure = failure
        let backupKey = SessionKeys.backup(ofPrimary: key)
        for candidate in await backupReadCandidates(after: primary) where candidate.id != skipping?.id {
            do {
                if let bytes = try await command(on: candidate, { try await $0.getAndTouch(backupKey, ttl: ttl) }) {
                    candidate.statistics.loaded()
                    let moves = !primary.availability.isUp
                    return Read(bytes: bytes, relocateTo: moves ? candidate.id : nil, fromBackup: true, node: candidate, key: backupKey)
                }
                answered = true
            } catch where StoreFailureKind.isOutage(error) {
                failure = error
            }
        }
        if !answered {
            throw SessionManagerError(.storeUnavailable, "no store node holding this session answered", underlying: failure)
        }
        return nil
    }

    // MARK: - Locks


    /// What ``readLocked(_:ttl:token:lockTTL:)`` got.
    enum LockedReadResult {
        /// Another holder has the lock; nothing read.
        case busy
        /// The lock is taken (`nil` only for an id naming no configured node) and the session read
        /// after it (`nil`: no node has it).
        case read(Read?, SessionLock?)
    }

    /// Takes a session's lock and reads the session, in one round trip to its node. The lock lives
    /// on the session's node, or, while that node is down, on the node of the first backup (where
    /// every app node looks for the session then, and where it moves). A session node that stops
    /// answering now is marked down and the backup's node is asked at once, as ``read(_:ttl:)``
    /// reads the backup when the primary fails: the first request after a node died is served.
    func readLocked(_ id: SessionID, ttl: Duration, token: [UInt8], lockTTL: Duration) async throws -> LockedReadResult {
        guard let primary = node(for: id) else { return .read(nil, nil) }
        let key = key(for: id)
        if !policy.encodesNodeIDs || primary.availability.isUp {
            do {
                return try await readLocked(key, on: primary, of: primary, ttl: ttl, token: token, lockTTL: lockTTL)
            } catch where policy.encodesNodeIDs && StoreFailureKind.isOutage(error) && policy.writesBackups {
                // `command` marked it down: the backup's node takes the lock.
            }
        }
        guard let backup = await backupCandidatesProbing(after: primary).first else {
            throw SessionManagerError(.storeUnavailable, "no store node holding this session is up")
        }
        return try await readLocked(key, on: backup, of: primary, ttl: ttl, token: token, lockTTL: lockTTL)
    }

    /// The lock of `key` taken on `lockNode` with the read of the copy there (the primary copy on
    /// `primary`, the backup elsewhere); on a miss, the other backups are read.
    private func readLocked(_ key: String, on lockNode: Node, of primary: Node, ttl: Duration, token: [UInt8], lockTTL: Duration) async throws -> LockedReadResult {
        let onPrimary = lockNode.id == primary.id
        guard let index = nodes.firstIndex(where: { $0.id == lockNode.id }) else { return .read(nil, nil) }
        let readKey = onPrimary ? key : SessionKeys.backup(ofPrimary: key)
        let result = try await command(on: lockNode) {
            try await $0.lockAndRead(lock: SessionKeys.lock(ofPrimary: key), token: token, lockTTL: lockTTL, read: readKey, ttl: ttl)
        }
        guard case .acquired(let storeLock, let value) = result else { return .busy }
        let lock = SessionLock(node: index, lock: storeLock, ttl: lockTTL)
        if let value {
            lockNode.statistics.loaded()
            let read = Read(bytes: value, relocateTo: onPrimary ? nil : lockNode.id, fromBackup: !onPrimary, node: lockNode, key: readKey)
            return .read(read, lock)
        }
        guard policy.encodesNodeIDs else { return .read(nil, lock) }
        do {
            return .read(try await readBackup(of: primary, key: key, ttl: ttl, skipping: onPrimary ? nil : lockNode, answered: true, failure: nil), lock)
        } catch {
            await unlock(lock)
            throw error
        }
    }

    /// Extends a held lock (compare-and-extend); `nil` when it is no longer ours.
    func extendLock(_ lock: SessionLock) async throws -> SessionLock? {
        let renewed = try await command(on: nodes[lock.node]) { try await $0.extendLock(lock.lock, ttl: lock.ttl) }
        return renewed.map { SessionLock(node: lock.node, lock: $0, ttl: lock.ttl) }
    }

    /// Releases a held lock (compare-and-delete), best effort: a lock not released expires.
    func unlock(_ lock: SessionLock) async {
        do {
            _ = try await command(on: nodes[lock.node]) { try await $0.unlock(lock.lock) }
        } catch {
            logger.debug("lock release failed; it expires", metadata: ["sm.node": "\(nodes[lock.node].id ?? "store")", "sm.error": "\(error)"])
        }
    }

    /// Deletes the copy a read returned (it was unreadable), best effort.
    func discard(_ read: Read) async {
        _ = try? await command(on: read.node) { try await $0.delete(read.key) }
    }

    /// Writes a session's primary copy, then its backup copy; when the session had another id in
    /// the store (`previousID`: an id change or a relocation), deletes the old copies, best effort.
    ///
    /// `unlocking`: the session's lock, released with the primary write (pipelined behind it on
    /// one connection when the lock is on the primary's node; after it otherwise).
    ///
    /// `loggedIn`: the session has a principal, so another node may have invalidated it by
    /// principal since it was read. Its copy is then written only over an existing one
    /// (``SessionStore/replace(_:value:ttl:)``); a copy under a new id, or found gone, is written
    /// and then deleted again if the session has a tombstone; its backup only once the primary is
    /// written. Returns `false` when the session was invalidated elsewhere: nothing was kept.
    @discardableResult
    func write(_ id: SessionID, bytes: [UInt8], ttl: Duration, previousID: SessionID?, unlocking lock: SessionLock? = nil, loggedIn: Bool = false) async throws -> Bool {
        guard let primary = node(for: id) else {
            throw SessionManagerError(.storeUnavailable, "the session has no store node")
        }
        let key = key(for: id)
        let replacing = loggedIn && previousID == id
        /// A logged-in session's copy written with `set` (a new id, or a copy the store lost):
        /// looked for its tombstone afterwards, and deleted again if another node invalidated it
        /// meanwhile. (Checked after the write, not before: an invalidation writes its tombstone
        /// before it deletes, so either it deletes this copy or this check sees the tombstone.)
        func invalidatedAfterSet() async throws -> Bool {
            var tombstoned = try await isTombstoned(id)
            if !tombstoned, let previousID, previousID != id { tombstoned = try await isTombstoned(previousID) }
            if tombstoned { _ = try? await command(on: primary) { try await $0.delete(key) } }
            return tombstoned
        }
        func writePrimary() async throws -> Bool {
            if loggedIn {
                var written = false
                if replacing {
                    written = try await command(on: primary) { try await $0.replace(key, value: bytes, ttl: ttl) }
                }
                // Otherwise gone: invalidated elsewhere, or lost by the store (expired, evicted, restarted).
                if !written {
                    try await command(on: primary) { try await $0.set(key, value: bytes, ttl: ttl) }
                    if try await invalidatedAfterSet() {
                        if let lock { await unlock(lock) }
                        return false
                    }
                }
                if let lock { await unlock(lock) }
            } else if let lock, nodes[lock.node].id == primary.id {
                _ = try await command(on: primary) { try await $0.set(key, value: bytes, ttl: ttl, thenUnlock: lock.lock) }
            } else {
                try await command(on: primary) { try await $0.set(key, value: bytes, ttl: ttl) }
                if let lock { await unlock(lock) }
            }
            primary.statistics.wrote()
            if let previousID, previousID != id { await deleteOldCopies(of: previousID) }
            return true
        }
        guard let backup = backupCandidates(after: primary).first else { return try await writePrimary() }
        let writeBackup: @Sendable () async -> Void = { [self] in
            do {
                try await command(on: backup) { try await $0.set(SessionKeys.backup(ofPrimary: key), value: bytes, ttl: Self.backupTTL(ttl)) }
                backup.statistics.wroteBackup()
            } catch {
                backup.statistics.backupFailed()
                logger.debug("backup write failed", metadata: ["sm.node": "\(backup.id ?? "")", "sm.error": "\(error)"])
            }
        }
        if backupAsync && !loggedIn {
            // The backup goes out beside the primary write: a child task runs on the request's
            // executor (the HTTP connection's event loop, SE-0417), so both commands leave in the
            // same loop tick and the request waits one round trip, not two. (Handed to the
            // background work instead, each backup cost a thread hop: 0.8× the throughput.)
            async let backupWritten: Void = writeBackup()
            do {
                _ = try await writePrimary()
            } catch {
                await backupWritten
                throw error
            }
            await backupWritten
            return true
        } else {
            // Written only once the primary is (a logged-in session's backup must not come back
            // beside a primary found invalidated), waited for at most sessionBackupTimeout.
            guard try await writePrimary() else { return false }
            await background.run(writeBackup, timeout: backupTimeout)
            return true
        }
    }

    /// An available node for a session whose node stopped answering under its write (a primary
    /// one if any, see ``nodeForNewSession()``), probing the down nodes first when none is up;
    /// `nil` when none answers.
    func relocationTarget(afterFailureOf id: SessionID) async -> String? {
        guard let node = node(for: id) else { return nil }
        return await probingWhenNoneIsUp(except: node) { nodeForNewSession() }
    }

    /// ``backupCandidates(after:)``, probing the down nodes first when none is up (see
    /// ``probingWhenNoneIsUp(except:_:)``).
    func backupCandidatesProbing(after node: Node) async -> [Node] {
        await probingWhenNoneIsUp(except: node) { backupCandidates(after: node).nilIfEmpty } ?? []
    }

    /// `pick()`; when it finds no node because the others are marked down (perhaps only since
    /// before they restarted: a node sees that one is back only after its reconnect backoff and
    /// probe), again after asking them (``probeDownNodes(except:)``), so that a node that is back
    /// serves the request instead of a `503`. `failed`: the node just found dead, not asked again.
    private func probingWhenNoneIsUp<T>(except failed: Node, _ pick: () -> T?) async -> T? {
        if let found = pick() { return found }
        await probeDownNodes(except: failed)
        return pick()
    }

    /// Resets the time to live of a session's copies (a session kept in memory by overlapping
    /// requests, or resident in sticky mode, reads no store, see ``SessionLifecycle``); the
    /// backup's after the response. `false`: the primary node has no copy (to write it again).
    func touch(_ id: SessionID, ttl: Duration) async throws -> Bool {
        guard let primary = node(for: id) else { return true }
        let key = key(for: id)
        let found = try await command(on: primary) { try await $0.touch(key, ttl: ttl) }
        guard found, let backup = backupCandidates(after: primary).first else { return found }
        background.submit { [self] in
            _ = try? await command(on: backup) { try await $0.touch(SessionKeys.backup(ofPrimary: key), ttl: Self.backupTTL(ttl)) }
        }
        return true
    }

    /// Deletes a session (invalidation): its primary copy (an error if its node cannot be asked)
    /// and its backup copy (best effort).
    func delete(_ id: SessionID) async throws {
        guard let primary = node(for: id) else { return }
        let key = key(for: id)
        try await command(on: primary) { try await $0.delete(key) }
        if let backup = backupCandidates(after: primary).first {
            _ = try? await command(on: backup) { try await $0.delete(SessionKeys.backup(ofPrimary: key)) }
        }
    }

    /// Deletes the copies a session had under an id it no longer has; never an error: the new copy
    /// is written, and what remains of the old ones expires with its time to live.
    private func deleteOldCopies(of id: SessionID) async {
        guard let primary = node(for: id) else { return }
        let key = key(for: id)
        if primary.availability.isUp {
            _ = try? await command(on: primary) { try await $0.delete(key) }
        }
        // The backup of the old id must go: a client still sending the old id while its node is
        // down would otherwise be served this older copy again.
        if let backup = backupCandidates(after: primary).first {
            _ = try? await command(on: backup) { try await $0.delete(SessionKeys.backup(ofPrimary: key)) }
        }
    }

    /// The up nodes that restarted since they were last asked (they name another instance,
    /// ``InstanceNaming``): they hold none of the copies written to them before. One cheap command
    /// per node; a node that does not answer is left to the availability tracking.
    func restartedNodes() async -> [Node] {
        var restarted: [Node] = []
        for node in nodes where node.availability.isUp {
            guard let id = node.id, let naming = node.store as? any InstanceNaming,
                let name = try? await command(on: node, { _ in try await naming.instanceName() })
            else { continue }
            if instances.withLock({ $0.record(name, for: id) }) { restarted.append(node) }
        }
        return restarted
    }

    /// Whether `id`'s primary copy or its backup copy goes to `node`.
    func copies(of id: SessionID, on node: Node) -> Bool {
        guard let primary = self.node(for: id) else { return false }
        return primary.id == node.id || backupCandidates(after: primary).first?.id == node.id
    }

    /// Probes each down node once (a cheap command, sent at once whatever the store's reconnect
    /// backoff, see ``SessionStore/probe(key:)``); an answer marks it up. `except`: a node just
    /// found dead, not worth asking again.
    func probeDownNodes(except skipped: Node? = nil) async {
        for node in nodes where !node.availability.isUp && (skipped == nil || node.id != skipped?.id) {
            // Still down: logged when it went down.
            _ = try? await command(on: node) { try await $0.probe(key: keys.probe(node: node.id)) }
        }
    }
}

/// A session lock as the storage holds it: the node it lives on (an index into
/// ``SessionStorage/nodes``), the store's lock value, and its time to live.
struct SessionLock: Sendable, Equatable {
    let node: Int
    var lock: StoreLock
    let ttl: Duration
}

extension Array {
    /// `nil` for an empty array.
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
