import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The session lifecycle for one context (one application): which requests have sessions, where
/// they are loaded from, when they are written.
///
/// An HTTP layer calls ``beginRequest(path:requestedIDs:)`` when a request arrives and
/// ``RequestSessions/finish()`` after the application answered, then sends the cookie that
/// `finish` asks for, and calls ``RequestSessions/afterResponse()`` once the response is sent
/// (sticky mode writes the session then). `SessionHTTP` does this for the bundled server; a user with another HTTP
/// framework can drive it the same way.
///
/// A manager is a `Service`: ``run()`` runs its stores (connection pools, sweeps) and its
/// background work (backup touches after the response, waits for backups with
/// `sessionBackupAsync="false"`, probes of down nodes) until graceful shutdown.
public final class SessionManager: Service, Sendable {
    /// The configuration this manager was built with.
    public let configuration: ManagerConfiguration
    /// The store of the first node (the only one of a context without node ids).
    public let store: any SessionStore
    /// The store nodes, in configuration order.
    public let nodes: [SessionStoreNode]
    /// Where sessions are kept: nodes, availability, key layout.
    let storage: SessionStorage
    /// Backup touches after the response, and backup writes waited for with a timeout.
    let background = BackgroundWork()
    /// Opened by ``stop()``.
    private let stopSignal = StopSignal()
    /// The route of the ids this process issues, and of the sessions it may serve from memory.
    let route: AppNodeRoute
    /// Makes the ids of new sessions (and of `changeSessionId`) with the route in force now.
    var idGenerator: SessionIDGenerator { SessionIDGenerator(jvmRoute: stickyRoute ?? route.configured) }
    let writer: SessionWriter
    let active: ActiveSessions
    let logger: Logger
    /// The context's statistics as swift-metrics handles.
    let metrics: SessionMetrics
    /// Ids the store recently did not know: asked again, they cost no store read.
    let unknownIDs = UnknownSessionIDs()
    /// Used only to name the writer of a blob the configured transcoder cannot read.
    let knownTranscoders: SessionTranscoders
    /// The store failed and has not worked since (logged when it starts and ends, not per request).
    let storeOutage = StateChangeLog()
    /// New sessions are refused (``ManagerConfiguration/maxActiveSessions``).
    let sessionLimit = StateChangeLog()
    /// When a full manager last removed expired sessions, so a full table is scanned once a second
    /// at most, not for every refused session.
    private let lastLimitSweep = Mutex<ContinuousClock.Instant?>(nil)

    /// Creates a manager.
    /// - Parameters:
    ///   - configuration: the `<Manager>` settings.
    ///   - store: where sessions are kept.
    ///   - jvmRoute: this node's route, appended to new ids (`nil`: none).
    ///   - logger: for background events (failed writes, corrupt blobs); never logs whole ids.
    ///   - context: the context path, the `context` label of its metrics (see ``SessionMetrics``;
    ///     the handles come from `MetricsSystem.factory` when the manager is made).
    ///   - knownTranscoders: the transcoders whose blobs are named in the warning when the
    ///     configured one cannot read a stored session (after a switch of transcoder).
    public convenience init(
        configuration: ManagerConfiguration,
        store: any SessionStore,
        jvmRoute: String? = nil,
        context: String = "/",
        logger: Logger,
        knownTranscoders: SessionTranscoders = .standard
    ) {
        self.init(
            configuration: configuration,
            nodes: [SessionStoreNode(id: nil, store: store)],
            jvmRoute: jvmRoute,
            context: context,
            logger: logger,
            knownTranscoders: knownTranscoders
        )
    }

    /// Creates a manager over several store nodes (msm `memcachedNodes` with ids).
    /// - Parameters:
    ///   - nodes: the nodes in configuration order; at least one. With ids, every session id
    ///     names its node, and with two or more non-failover nodes every session has a backup copy
    ///     on the next node (see ``SessionStorage``). Run the manager (``run()``): backup writes
    ///     happen in its background work.
    ///   - Other parameters: as ``init(configuration:store:jvmRoute:context:logger:knownTranscoders:)``.
    public init(
        configuration: ManagerConfiguration,
        nodes: [SessionStoreNode],
        jvmRoute: String? = nil,
        context: String = "/",
        logger: Logger,
        knownTranscoders: SessionTranscoders = .standard
    ) {
        precondition(!nodes.isEmpty, "a manager needs a store node")
        self.knownTranscoders = knownTranscoders
        self.configuration = configuration
        self.nodes = nodes
        self.store = nodes[0].store
        self.route = AppNodeRoute(configured: jvmRoute)
        let metrics = SessionMetrics(context: context, enabled: configuration.enableStatistics)
        self.metrics = metrics
        let policy = SessionPolicy(configuration: configuration, nodes: nodes)
        self.policy = policy
        self.storage = SessionStorage(nodes: nodes, policy: policy, configuration: configuration, background: background, metrics: metrics, logger: logger)
        self.active = ActiveSessions(policy: policy)
        self.writer = SessionWriter(storage: storage, configuration: configuration, active: active, metrics: metrics)
        self.logger = logger
    }

    /// How this context treats its sessions (residency, locking, node ids, backups).
    let policy: SessionPolicy
    /// This process's route when sessions are sticky (``ResidencyMode/writeBehind``), see
    /// ``namesAnotherAppNode(_:)``: the `jvmRoute`, or a route of the process's own (none
    /// configured, or the configured one leased by another live process; see ``AppNodeRoute``).
    var stickyRoute: String? { policy.isSticky ? route.current : nil }
    /// What ``LockingMode/auto`` learned.
    let readOnlyRequests = ReadOnlyRequests()
    let lockStatistics = LockStatistics()
    /// A sticky write failed since ``writeUnsavedResidents()`` last looked.
    let unsavedResidents = Atomic<Bool>(false)
    /// Sticky writes after a response not yet done (answered, not yet stored): the server's
    /// drain waits for them (see ``beginDraining()``).
    let pendingWrites = Atomic<Int>(0)
    /// Set by ``beginDraining()``.
    let draining = Atomic<Bool>(false)

    /// Sticky, and `id` does not carry this process's route: another process may have served the
    /// session after this one last did (it names another app node, or no route, or this process's
    /// route changed since), so a resident copy here may be stale, and the session is loaded and
    /// taken over.
    @inline(__always)
    func namesAnotherAppNode(_ id: SessionID) -> Bool {
        guard let current = stickyRoute else { return false }
        return !id.hasJvmRoute(current)
    }

    /// Number of sessions this node took over from another app node (sticky mode: the id named
    /// another `jvmRoute`; Tomcat's failover).
    public var takeoverCount: Int { metrics.takenOver.value }

    /// Runs the stores and the background work until graceful shutdown or cancellation. A store
    /// that cannot work (a wrong password) ends it with its error.
    ///
    /// On graceful shutdown the queued background work (backup writes and touches) runs out
    /// before the stores close. Put the manager before the HTTP server in a `ServiceGroup`, so
    /// that it is shut down after the server's last request. A server that hosts managers itself
    /// uses ``runUntilStopped()`` instead.
    public func run() async throws {
        try await run { try? await gracefulShutdown() }
    }

    /// Runs like ``run()``, but graceful shutdown does not stop it: ``stop()`` does (or
    /// cancellation). For a server that hosts its managers (the bundled `HTTPServer`): during its
    /// graceful shutdown the requests still under way, and the session writes after their
    /// responses, need the stores; it stops the managers once its last connection has ended.
    public func runUntilStopped() async throws {
        try await run { await self.stopSignal.wait() }
    }

    /// Ends ``runUntilStopped()``: the queued background work runs out, then the stores close.
    public func stop() {
        stopSignal.open()
    }

    /// The tasks of a running manager.
    private enum Part: Sendable { case store, background, stopRequest, upkeep, lockRenewal }

    private func run(until stopRequested: @escaping @Sendable () async -> Void) async throws {
        logRouteAtStart()
        try await withThrowingTaskGroup(of: Part.self) { group in
            for node in nodes {
                // A store runs until cancelled: its connections close after the background work.
                group.addTask {
                    try await node.store.run()
                    return .store
                }
            }
            group.addTask {
                await self.background.process()
                return .background
            }
            group.addTask {
                await stopRequested()
                await self.releaseRouteLease()
                // The queued background work runs out, then `process` returns.
                self.background.finish()
                return .stopRequest
            }
            if policy.encodesNodeIDs || policy.isSticky {
                group.addTask {
                    // At start, then once a second: the route lease (sticky, see AppNodeRoute);
                    // probe the down nodes, then (sticky) write what a failed write left unsaved
                    // to the nodes that answer again.
                    await self.renewRouteLease()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: NodeAvailability.probeInterval)
                        if self.policy.encodesNodeIDs { await self.storage.probeDownNodes() }
                        if self.policy.isSticky {
                            await self.renewRouteLease()
                            await self.writeUnsavedResidents()
                        }
                    }
                    return .upkeep
                }
            }
            if policy.locks {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.lockRenewalInterval)
                        await self.renewLocks()
                    }
                    return .lockRenewal
                }
            }
            // `next()` rethrows a store's error (a wrong password) at once; once the background
            // work has run out, the stores close and the upkeep ends.
            while let part = try await group.next() {
                if part == .background { group.cancelAll() }
            }
        }
    }

    /// Number of sessions moved to another node because theirs was down (msm "memcached failover").
    public var relocationCount: Int { metrics.relocated.value }

    /// One store node as the last operations on it found it.
    public struct NodeState: Sendable, Equatable {
        /// The node id (`"store"` for the node of a context without node ids).
        public let id: String
        /// `false` from a failure to answer until an operation or a probe works again.
        public let isUp: Bool
        /// How many times it went down or came back (msm's node availability statistics).
        public let transitionCount: Int
        /// Sessions read from it (primary or backup copies).
        public let loads: Int
        /// Primary copies written to it.
        public let writes: Int
        /// Backup copies written to it.
        public let backupWrites: Int
        /// Commands it answered with a refusal (a value too large, a server error): counted, but
        /// they never mark it down (see ``StoreFailureKind``).
        public let refusedCommands: Int
        /// Operations sent to it (reads, writes, touches, deletes, locks), answered or not.
        public let operations: Int
        /// Of those, operations it did not answer (unreachable, timed out).
        public let failedOperations: Int
        /// The latencies of its operations so far.
        public let latency: LatencySnapshot
    }

    /// Each node's state and counters, in configuration order.
    public var nodeAvailability: [NodeState] {
        storage.nodes.map { node in
            let counters = node.statistics.snapshot
            return NodeState(
                id: node.id ?? "store",
                // A single node without id is never marked down (it has no alternative): the
                // manager's outage says whether it answers.
                isUp: node.availability.isUp && (policy.encodesNodeIDs || !storeOutage.isActive),
                transitionCount: node.availability.transitionCount,
                loads: counters.loads,
                writes: counters.writes,
                backupWrites: counters.backupWrites,
                refusedCommands: counters.refusedCommands,
                operations: counters.latency.count,
                failedOperations: counters.failedOperations,
                latency: counters.latency
            )
        }
    }

    /// Sessions this manager keeps in this process's memory: in use by requests, resident between
    /// requests, and kept by a process-local store (the status page's "in memory").
    public var sessionsInMemoryCount: Int { active.entryCount + (store.localSessionCount ?? 0) }

    /// Records the gauges of the context's metrics (sessions in memory, each node up or down)
    /// now, from the same state ``nodeAvailability`` reads; a metrics endpoint calls it before each
    /// scrape, so that no timer has to keep them current.
    public func recordGauges() {
        metrics.sessionsInMemory.record(sessionsInMemoryCount)
        for (node, state) in zip(storage.nodes, nodeAvailability) { node.statistics.metrics.up.record(state.isUp ? 1 : 0) }
    }

    /// Backup touches dropped because the background queue was full.
    public var droppedBackgroundJobCount: Int { background.droppedCount }

    /// Number of sessions that in-flight requests are using on this node.
    public var activeSessionCount: Int { active.count }

    /// Number of new sessions refused because the context held
    /// ``ManagerConfiguration/maxActiveSessions`` (Tomcat's `rejectedSessions`).
    public var rejectedSessionCount: Int { metrics.rejected.value }

    /// Number of sessions counted against ``ManagerConfiguration/maxActiveSessions``: those held in
    /// memory by this manager and those the store keeps in this process (expired ones not yet removed included).
    public var heldSessionCount: Int { active.entryCount + (store.localSessionCount ?? 0) }

    /// Number of sessions kept resident between requests (see
    /// ``ManagerConfiguration/residentSessionLimit``), expired ones not yet removed included.
    public var residentSessionCount: Int { active.residentCount }

    /// Starts the session part of a request.
    /// - Parameters:
    ///   - path: the request path including the context path, without the query string.
    ///   - requestedIDs: the ids from the client's cookies, in the order sent, already validated by
    ///     ``SessionID/init(parsing:)``; the first one the store knows is the request's session.
    ///     Not evaluated for ignored requests.
    /// - Returns: the request's session access; call ``RequestSessions/finish()`` exactly once at the end.
    public func beginRequest(path: Substring, requestedIDs: @autoclosure () -> RequestedSessionIDs) -> RequestSessions {
        beginRequest(method: "GET", path: path, query: nil, requestedIDs: requestedIDs())
    }

    /// Starts the session part of a request, with what ``ManagerConfiguration/lockingMode``
    /// looks at: the method and the query string (msm's request id `"<METHOD> <path>[?<query>]"`).
    /// - Parameters:
    ///   - method: the request method (`GET`, `POST`, …).
    ///   - path: as in ``beginRequest(path:requestedIDs:)``.
    ///   - query: the query string without `?`, if any.
    ///   - requestedIDs: as in ``beginRequest(path:requestedIDs:)``.
    public func beginRequest(
        method: String,
        path: Substring,
        query: Substring?,
        requestedIDs: @autoclosure () -> RequestedSessionIDs
    ) -> RequestSessions {
        if let pattern = configuration.requestUriIgnorePattern, pattern.matches(path: path) {
            return RequestSessions(manager: self, ignored: true, requestedIDs: RequestedSessionIDs())
        }
        let ids = requestedIDs()
        guard policy.locks else { return RequestSessions(manager: self, ignored: false, requestedIDs: ids) }
        let requestID = lockingRequestID(method: method, path: path, query: query)
        return RequestSessions(
            manager: self,
            ignored: false,
            requestedIDs: ids,
            locking: .init(requestID: requestID, needsLock: locks(requestID: requestID))
        )
    }

    /// Starts the session part of a request whose client sent at most one id; see
    /// ``beginRequest(path:requestedIDs:)``.
    public func beginRequest(path: Substring, requestedID: @autoclosure () -> SessionID?) -> RequestSessions {
        beginRequest(path: path, requestedIDs: RequestedSessionIDs(requestedID()))
    }

    /// Loads a session from the store: `nil` when unknown, expired or unreadable (a corrupt blob is
    /// deleted and logged, and the client gets a new session).
    /// `needsLock`: the session's store lock is taken first (see ``readLocked(_:ttl:)``) and
    /// handed over in the result; released here when nothing is loaded.
    func load(_ id: SessionID, needsLock: Bool = false) async throws -> ActiveSessions.Loaded? {
        let ttl = Duration.seconds(configuration.maxInactiveInterval)
        if unknownIDs.contains(id) {
            metrics.unknownCached.increment()
            return nil
        }
        let read: SessionStorage.Read?
        let lock: SessionLock?
        do {
            if needsLock {
                (read, lock) = try await readLocked(id, ttl: ttl)
            } else {
                (read, lock) = (try await storage.read(id, ttl: ttl), nil)
                storeWorked()
            }
        } catch {
            storeFailed(error)
            let failure = error as? SessionManagerError ?? SessionManagerError(.storeUnavailable, "session load failed", underlying: error)
            if failure.code == .storeUnavailable || failure.code == .storeTimeout {
                requestFailsForTheStore("load", id, failure)
            }
            throw failure
        }
        guard let read else {
            if let lock { await storage.unlock(lock) }
            unknownIDs.insert(id)
            metrics.unknown.increment()
            return nil
        }
        guard var loaded = await decode(read, id, ttl: ttl) else {
            if let lock { await storage.unlock(lock) }
            return nil
        }
        metrics.loaded.increment()
        loaded.lock = lock
        return loaded
    }

    /// Makes the session out of what a load read: `nil` when it is unreadable (deleted, logged),
    /// has another id, or is a backup that may have expired.
    private func decode(_ read: SessionStorage.Read, _ id: SessionID, ttl: Duration) async -> ActiveSessions.Loaded? {
        let bytes = read.bytes
        let snapshot: SessionSnapshot
        do {
            let start = ContinuousClock.now
            snapshot = try configuration.transcoder.decode(bytes)
            metrics.decoding.recordNanoseconds(Int64((ContinuousClock.now - start).nanosecondCount))
        } catch {
            let metadata: Logger.Metadata = ["sm.session": "\(id.logTag)", "sm.error": "\(error)"]
            if let writer = knownTranscoders.identify(bytes), writer != configuration.transcoder.name {
                // The cluster switched transcoderFactoryClass: the old sessions are lost, say why.
                logger.warning(
                    "stored session was written by the '\(writer)' transcoder, this context uses '\(configuration.transcoder.name)'; deleted, the client gets a new session",
                    metadata: metadata
                )
            } else {
                logger.warning("stored session is unreadable; deleted, the client gets a new session", metadata: metadata)
            }
            await storage.discard(read)
            return nil
        }
        guard snapshot.id == id.description else {
            logger.warning("stored session has another id; ignored", metadata: ["sm.session": "\(id.logTag)"])
            return nil
        }
        if snapshot.maxInactiveInterval != configuration.maxInactiveInterval && !read.fromBackup {
            // The touch above used the context default; this session has its own timeout.
            _ = try? await storage.touch(id, ttl: .seconds(snapshot.maxInactiveInterval))
        }
        // Seconds since the copy was written (a write stamps `lastAccessedTime`).
        let age = Date().timeIntervalSince(snapshot.lastAccessedTime)
        let interval = Double(snapshot.maxInactiveInterval)
        if read.fromBackup && read.relocateTo == nil && age >= interval {
            // The primary's node answers but lacks the session: restored from the backup only if
            // it is certainly alive. Written longer ago than its timeout, it may have expired
            // (the backup lives a quarter longer than the primary), and an expired session
            // never comes back.
            return nil
        }
        let session = Session(snapshot: snapshot, id: id, isNew: false, idGenerator: idGenerator)
        if let current = stickyRoute, !id.hasJvmRoute(current) {
            // Sticky: another app node served it last (it died, or the balancer moved the user).
            // This node takes it over: its route in the id (a new cookie), written under the new
            // id when the request ends, the old key deleted.
            session.takeOver(route: current)
            metrics.takenOver.increment()
            logger.info("session taken over from another app node", metadata: ["sm.session": "\(id.logTag)", "sm.route": "\(id.jvmRoute ?? "")"])
            if read.relocateTo == nil && !read.fromBackup {
                return ActiveSessions.Loaded(session: session, stored: snapshot, storedID: id)
            }
        }
        if let node = read.relocateTo {
            // Its node is down: the session moves to the node of the backup (a new cookie), and
            // is written there with a new backup; the old copies are deleted, best effort.
            session.relocate(toNode: node)
            metrics.relocated.increment()
            logger.info("session relocated to another store node", metadata: ["sm.session": "\(id.logTag)", "sm.node": "\(node)"])
            return ActiveSessions.Loaded(session: session, stored: snapshot, storedID: id)
        }
        if read.fromBackup || (policy.writesBackups && age > interval / 4) {
            // Only the backup had it (its node lost the copy), or the backup was last written a
            // quarter of the session's timeout ago (a session only read keeps its primary alive
            // with each read, not its backup): the request ends with a write of both copies.
            return ActiveSessions.Loaded(session: session, stored: nil, storedID: nil)
        }
        return ActiveSessions.Loaded(session: session, stored: snapshot, storedID: id)
    }

    /// Number of requests whose session the store could not load, save or delete: their answer is
    /// `503` (`sm_requests_failed_total{reason="store_unavailable"}`).
    public var storeFailedRequestCount: Int { metrics.storeFailedRequests.value }

    /// A request fails (`503`) because the store could not do `operation` for session `id`:
    /// counted, and said at info level with the node and the error, so that a rare one can be
    /// found and explained (they are expected only while no node holding the session answers).
    func requestFailsForTheStore(_ operation: String, _ id: SessionID, _ error: any Error) {
        metrics.storeFailedRequests.increment()
        let availability = storage.nodes.map { "\($0.id ?? "store")=\($0.availability.isUp ? "up" : "down")" }.joined(separator: ",")
        logger.info(
            "a request fails (503): session \(operation) failed",
            metadata: [
                "sm.session": "\(id.logTag)", "sm.operation": "\(operation)", "sm.node": "\(id.nodeID ?? "store")",
                "sm.nodes": "\(availability)", "sm.error": "\(error)",
            ]
        )
    }

    /// A store operation succeeded: ends an outage, if one was logged. One atomic load otherwise.
    @inline(__always)
    func storeWorked() {
        storeOutage.end { logger.notice("session store available again") }
    }

    /// A store operation failed. A store that cannot be reached or timed out starts an outage:
    /// logged once, until an operation works again (requests meanwhile get `503`). A refusal of one
    /// session (too large) says nothing about the store.
    func storeFailed(_ error: any Error) {
        guard Self.isOutage(error) else { return }
        storeOutage.begin {
            let consequence = policy.isSticky
                ? "sessions kept in memory are served from there and written once it answers; others fail (503)"
                : "requests that need a session fail (503)"
            logger.warning("session store unavailable: \(consequence) until it answers again", metadata: ["sm.error": "\(error)"])
        }
    }

    /// `true` for a failure of the store node itself (unreachable, timed out, see
    /// ``StoreFailureKind``); `false` for a command the node refused or the refusal of one session
    /// (too large). Node availability and the outage log react to the first kind only.
    static func isOutage(_ error: any Error) -> Bool {
        ((error as? any SessionStoreFailure)?.failureKind ?? .unreachable) == .unreachable
    }

    /// `true` when a failed write or delete must not be hidden from the client (its answer becomes
    /// `503`): any store failure, reachable or not, except a refusal of the session itself
    /// (``SessionManagerError/Code/sessionTooLarge``), which is logged as the session's error.
    static func failsTheRequest(_ error: any Error) -> Bool {
        (error as? SessionManagerError)?.isTemporary ?? true
    }

    /// Registers a session this request created, unless this context holds
    /// ``ManagerConfiguration/maxActiveSessions`` even after expired sessions are removed: then
    /// throws ``SessionManagerError/Code/tooManySessions``. The memory store's count is read first
    /// and the table's is checked with the insertion, so concurrent creations never overshoot
    /// (a session leaving residency is written to the store before it leaves the table).
    func register(newSession session: Session) throws {
        let limit = configuration.maxActiveSessions
        guard limit >= 0 else { return active.register(session) }
        if active.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) {
            sessionLimit.end { logger.notice("session limit no longer reached: new sessions are created again") }
            return
        }
        // Full: expired sessions go first (at most once a second; each pass scans every session).
        let now = ContinuousClock.now
        let sweep = lastLimitSweep.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        if sweep {
            active.removeExpiredResidents()
            store.removeExpiredSessions()
            if active.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) { return }
        }
        metrics.rejected.increment()
        sessionLimit.begin {
            logger.warning(
                "session limit reached (maxActiveSessions \(limit)): new sessions are refused (503) until some expire",
                metadata: ["sm.limit": "\(limit)"]
            )
        }
        throw SessionManagerError(.tooManySessions, "this context holds maxActiveSessions (\(limit)) sessions; no new session now")
    }

    /// A new session with a fresh id (never one the client chose).
    func makeSession() -> Session {
        let now = Date()
        let generator = idGenerator
        let id = generator.makeID(nodeID: storage.nodeForNewSession())
        let snapshot = SessionSnapshot(
            id: id.description,
            creationTime: now,
            lastAccessedTime: now,
            maxInactiveInterval: configuration.maxInactiveInterval,
            attributes: [:]
        )
        return Session(snapshot: snapshot, id: id, isNew: true, idGenerator: generator)
    }
}
