import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The session lifecycle for one context (one application): which requests have sessions, where
/// they are loaded from, when they are written.
///
/// An HTTP layer calls ``beginRequest(method:path:query:requestedIDs:)`` when a request arrives and
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
    /// Performs what the lifecycles decide; it holds the parts below, which the manager only reads.
    let executor: SessionExecutor
    /// Where sessions are kept: nodes, availability, key layout.
    var storage: SessionStorage { executor.storage }
    /// Backup touches after the response, and backup writes waited for with a timeout.
    var background: BackgroundWork { executor.background }
    /// The route of the ids this process issues, and of the sessions it may serve from memory.
    var route: AppNodeRoute { executor.route }
    /// How this context treats its sessions (residency, locking, node ids, backups).
    var policy: SessionPolicy { executor.policy }
    /// The sessions held on this node, one lifecycle each.
    var table: SessionTable { executor.table }
    package var logger: Logger { executor.logger }
    /// The context's statistics as swift-metrics handles.
    var metrics: SessionMetrics { executor.metrics }
    /// Opened by ``stop()``.
    private let stopSignal = StopSignal()
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
        self.configuration = configuration
        self.nodes = nodes
        self.store = nodes[0].store
        let metrics = SessionMetrics(context: context, enabled: configuration.enableStatistics)
        let policy = SessionPolicy(configuration: configuration, nodes: nodes)
        let background = BackgroundWork()
        self.executor = SessionExecutor(
            configuration: configuration,
            policy: policy,
            storage: SessionStorage(nodes: nodes, policy: policy, configuration: configuration, background: background, metrics: metrics, logger: logger),
            table: SessionTable(policy: policy),
            metrics: metrics,
            background: background,
            route: AppNodeRoute(configured: jvmRoute),
            knownTranscoders: knownTranscoders,
            logger: logger
        )
    }

    /// This process's route when sessions are sticky (``SessionPolicy/isSticky``), see
    /// ``namesAnotherAppNode(_:)``: the `jvmRoute`, or a route of the process's own (none
    /// configured, or the configured one leased by another live process; see ``AppNodeRoute``).
    var stickyRoute: String? { executor.stickyRoute }
    /// What ``LockingMode/auto`` learned.
    let readOnlyRequests = ReadOnlyRequests()

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
    /// that it is shut down after the server's last request. This is the one way to run a
    /// manager (the bundled server, which hosts its managers, stops them itself after its last
    /// connection).
    public func run() async throws {
        try await run { try? await gracefulShutdown() }
    }

    /// Runs like ``run()``, but graceful shutdown does not stop it: ``stop()`` does (or
    /// cancellation). For a server that hosts its managers (the bundled `HTTPServer`): during its
    /// graceful shutdown the requests still under way, and the session writes after their
    /// responses, need the stores; it stops the managers once its last connection has ended.
    package func runUntilStopped() async throws {
        try await run { await self.stopSignal.wait() }
    }

    /// Ends ``runUntilStopped()``: the queued background work runs out, then the stores close.
    package func stop() {
        stopSignal.open()
    }

    /// The tasks of a running manager.
    private enum Part: Sendable { case store, background, stopRequest, upkeep, lockRenewal, notices }

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
            if policy.encodesNodeIDs || policy.isSticky || policy.residentLimit > 0 {
                group.addTask {
                    // At start, then once a second: the route lease (sticky, see AppNodeRoute);
                    // probe the down nodes, then (sticky) mark unsaved the copies a node that
                    // restarted empty lost, and write what is unsaved to the nodes that answer;
                    // every minute, remove the expired resident sessions (a full resident set
                    // also drops expired ones as it makes room).
                    await self.renewRouteLease()
                    var lastSweep = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: NodeAvailability.probeInterval)
                        await self.storage.probeDownNodes()
                        if self.policy.isSticky {
                            await self.renewRouteLease()
                            await self.executor.refillRestartedNodes()
                            await self.executor.writeUnsavedResidents()
                        }
                        if ContinuousClock.now - lastSweep >= SessionTable.sweepInterval {
                            lastSweep = .now
                            self.table.removeExpiredResidents()
                        }
                    }
                    return .upkeep
                }
            }
            for carrier in storage.noticeCarriers {
                // Invalidations by principal on other nodes; after each (re)subscription, what
                // this node holds is looked at once (notices sent meanwhile were missed).
                let principals = executor.principals
                let channel = storage.keys.invalidationChannel
                group.addTask {
                    await carrier.listen(channel, onSubscribed: { await principals.revalidateAll() }, onMessage: { principals.dropLocalCopy($0) })
                    return .notices
                }
            }
            if policy.locks {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.executor.lockRenewalInterval)
                        await self.executor.renewLocks()
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
                isUp: node.availability.isUp,
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
    /// requests, and kept by a process-local store (the status page's "in memory"); what
    /// ``ManagerConfiguration/maxActiveSessions`` bounds (expired ones not yet removed included).
    public var sessionsInMemoryCount: Int { table.entryCount + (store.localSessionCount ?? 0) }

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
    public var activeSessionCount: Int { table.count }

    /// Number of new sessions refused because the context held
    /// ``ManagerConfiguration/maxActiveSessions`` (Tomcat's `rejectedSessions`).
    public var rejectedSessionCount: Int { metrics.rejected.value }

    /// Number of sessions kept resident between requests (see
    /// ``ManagerConfiguration/residentSessionLimit``), expired ones not yet removed included.
    public var residentSessionCount: Int { table.residentCount }

    /// Starts the session part of a request.
    /// - Parameters:
    ///   - method: the request method (`GET`, `POST`, …); with the query string, what
    ///     ``ManagerConfiguration/lockingMode`` looks at (msm's request id `"<METHOD> <path>[?<query>]"`).
    ///   - path: the request path including the context path, without the query string.
    ///   - query: the query string without `?`, if any.
    ///   - requestedIDs: the ids from the client's cookies, in the order sent, already validated by
    ///     ``SessionID/init(parsing:)``; the first one the store knows is the request's session.
    ///     Not evaluated for ignored requests.
    /// - Returns: the request's session access; call ``RequestSessions/finish()`` exactly once at the end.
    public func beginRequest(
        method: String,
        path: Substring,
        query: Substring?,
        requestedIDs: @autoclosure () -> RequestedSessionIDs
    ) -> RequestSessions {
        if let pattern = configuration.requestUriIgnorePattern, pattern.matches(path: path) {
            return RequestSessions(manager: self, ignored: true, requestedIDs: RequestedSessionIDs())
        }
        return beginRequestWithoutIgnorePattern(method: method, path: path, query: query, requestedIDs: requestedIDs())
    }

    /// ``beginRequest(method:path:query:requestedIDs:)`` without the ignore pattern, for a layer
    /// that decides itself which requests have sessions (a Vapor `SessionDriver` is called only on
    /// the routes behind Vapor's own middleware, and must not lose a session it was asked for).
    package func beginRequestWithoutIgnorePattern(
        method: String,
        path: Substring,
        query: Substring?,
        requestedIDs ids: RequestedSessionIDs
    ) -> RequestSessions {
        guard policy.locks else { return RequestSessions(manager: self, ignored: false, requestedIDs: ids) }
        let requestID = lockingRequestID(method: method, path: path, query: query)
        return RequestSessions(
            manager: self,
            ignored: false,
            requestedIDs: ids,
            locking: .init(requestID: requestID, needsLock: locks(requestID: requestID))
        )
    }

    /// Starts the session part of a `GET` request whose client sent at most one id (tests and
    /// micro-benchmarks); see ``beginRequest(method:path:query:requestedIDs:)``.
    public func beginRequest(path: Substring, requestedID: @autoclosure () -> SessionID?) -> RequestSessions {
        beginRequest(method: "GET", path: path, query: nil, requestedIDs: RequestedSessionIDs(requestedID()))
    }

    /// Number of requests whose session the store could not load, save or delete: their answer is
    /// `503` (`sm_requests_failed_total{reason="store_unavailable"}`).
    public var storeFailedRequestCount: Int { executor.storeFailedRequestCount }

    /// Registers a session this request created, unless this context holds
    /// ``ManagerConfiguration/maxActiveSessions`` even after expired sessions are removed: then
    /// throws ``SessionManagerError/Code/tooManySessions``. The memory store's count is read first
    /// and the table's is checked with the insertion, so concurrent creations never overshoot
    /// (a session leaving residency is written to the store before it leaves the table).
    func register(newSession session: Session) throws -> SessionTable.Lease {
        let limit = configuration.maxActiveSessions
        guard limit >= 0 else { return table.register(session) }
        if let lease = table.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) {
            sessionLimit.end { logger.notice("session limit no longer reached: new sessions are created again") }
            return lease
        }
        // Full: expired sessions go first (at most once a second; each pass scans every session).
        let now = ContinuousClock.now
        let sweep = lastLimitSweep.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        if sweep {
            table.removeExpiredResidents()
            store.removeExpiredSessions()
            if let lease = table.register(session, whileFewerThan: limit - (store.localSessionCount ?? 0)) { return lease }
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
    package func makeSession() -> Session {
        let now = Date()
        let generator = executor.idGenerator
        let id = generator.makeID(nodeID: storage.nodeForNewSession())
        let snapshot = SessionSnapshot(
            id: id.description,
            creationTime: now,
            lastAccessedTime: now,
            maxInactiveInterval: configuration.maxInactiveInterval,
            attributes: [:]
        )
        return Session(snapshot: snapshot, id: id, isNew: true, idGenerator: generator, maxLifetime: configuration.maxSessionLifetime, principals: executor.principals)
    }
}

extension SessionManager {
    /// Whether the manager drains (see ``beginDraining()``).
    public var isDraining: Bool { executor.draining.load(ordering: .relaxed) }

    /// Prepares a sticky node for its end (SIGTERM): from now on every change is written before
    /// its answer, because the user's next request goes to another app node, which must find it in
    /// the store. The server keeps accepting until ``drainPendingWrites(within:)`` returns, so
    /// that no user reaches another node while a change answered here is still unwritten. In
    /// non-sticky mode every change is written before its answer anyway: nothing to drain.
    public func beginDraining() {
        guard policy.isSticky, !executor.draining.exchange(true, ordering: .relaxed) else { return }
        logger.notice("draining: changes are written before their answers; waiting for the writes after earlier answers")
    }

    /// Waits until the writes after earlier answers are done (and tries once more what a store
    /// failure left unsaved), `timeout` at most. Returns at once outside sticky mode.
    public func drainPendingWrites(within timeout: Duration) async {
        guard policy.isSticky else { return }
        await executor.drainPendingWrites(within: timeout)
    }
}

extension SessionManager {
    /// The sessions of `principal` (``Session/logIn(principal:)``) on every app node, oldest login
    /// first, from the principal's index; sessions that expired or logged out meanwhile are left
    /// out. A session resident on this node is shown as this node has it.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no store node holding the
    ///   index answers.
    public func sessions(of principal: String) async throws -> [PrincipalSession] {
        try await executor.principals.sessions(of: principal)
    }

    /// Invalidates every session of `principal`, on every app node, except the one whose id is
    /// `except` (the current one, for "log out the other sessions"; `nil`: all, "log out
    /// everywhere"). A sticky node drops its resident copy on the store's notice (Redis) or
    /// before serving it once ``ManagerConfiguration/residentRevalidationInterval`` has passed;
    /// a request of one of them still under way cannot write it back.
    /// - Returns: How many sessions were invalidated.
    /// - Throws: ``SessionManagerError/Code/storeUnavailable`` when no store node holding the
    ///   index answers.
    @discardableResult
    public func invalidateSessions(of principal: String, except: SessionID? = nil) async throws -> Int {
        try await executor.principals.invalidateSessions(of: principal, except: except)
    }

    /// Number of logins (``Session/logIn(principal:)``) on this node.
    public var loginCount: Int { metrics.logins.value }
    /// Number of sessions this node invalidated by principal (log out everywhere, the limit's evictions).
    public var invalidatedByPrincipalCount: Int { metrics.invalidatedByPrincipal.value }
    /// Number of sessions the per-principal limit evicted at logins on this node.
    public var principalLimitEvictionCount: Int { metrics.limitEvictions.value }
    /// Number of logins the per-principal limit refused on this node.
    public var principalLimitRefusalCount: Int { metrics.limitRefusals.value }
    /// Number of sessions this node held and found invalidated elsewhere (a notice, a revalidation, a write).
    public var foundInvalidatedElsewhereCount: Int { metrics.foundGone.value }
}
