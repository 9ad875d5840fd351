import CoreMetrics
import Foundation
import Logging
import Synchronization

/// Performs what the sessions' lifecycles decide, against the store nodes, and reports the
/// outcomes back to them (see ``SessionLifecycle``): loads (with the lock retries), decodes,
/// writes, touches, deletes, relocations and takeovers. It takes no decision of its own: where
/// it branches, it branches on an action of the machine or a verdict of its decisions.
///
/// A class: the manager hands it to every request, and copying a struct of existentials and
/// strings on each access cost retains on the hot path.
final class SessionExecutor: Sendable {
    let configuration: ManagerConfiguration
    let policy: SessionPolicy
    let storage: SessionStorage
    let table: SessionTable
    /// The context's statistics as swift-metrics handles.
    let metrics: SessionMetrics
    let logger: Logger
    /// Backup touches after the response, and writes waited for with a timeout.
    let background: BackgroundWork
    /// The route of the ids this process issues, and of the sessions it may serve from memory.
    let route: AppNodeRoute
    /// Used only to name the writer of a blob the configured transcoder cannot read.
    let knownTranscoders: SessionTranscoders
    /// Ids the store recently did not know: asked again, they cost no store read.
    let unknownIDs = UnknownSessionIDs()
    let lockStatistics = LockStatistics()
    /// A sticky write failed since ``writeUnsavedResidents()`` last looked.
    let unsavedResidents = Atomic<Bool>(false)
    /// Sticky writes after a response not yet done (answered, not yet stored): the server's
    /// drain waits for them (see ``SessionManager/beginDraining()``).
    let pendingWrites = Atomic<Int>(0)
    /// Set by ``SessionManager/beginDraining()``.
    let draining = Atomic<Bool>(false)
    /// The context's logged-in sessions.
    let principals: SessionPrincipals

    init(
        configuration: ManagerConfiguration,
        policy: SessionPolicy,
        storage: SessionStorage,
        table: SessionTable,
        metrics: SessionMetrics,
        background: BackgroundWork,
        route: AppNodeRoute,
        knownTranscoders: SessionTranscoders,
        logger: Logger
    ) {
        self.principals = SessionPrincipals(storage: storage, table: table, configuration: configuration, metrics: metrics, background: background, logger: logger)
        self.configuration = configuration
        self.policy = policy
        self.storage = storage
        self.table = table
        self.metrics = metrics
        self.background = background
        self.route = route
        self.knownTranscoders = knownTranscoders
        self.logger = logger
    }

    /// This process's route when sessions are sticky: the `jvmRoute`, or a route of the
    /// process's own (none configured, or the configured one leased by another live process; see
    /// ``AppNodeRoute``).
    var stickyRoute: String? { policy.isSticky ? route.current : nil }

    /// Makes the ids of new sessions (and of `changeSessionId`) with the route in force now.
    var idGenerator: SessionIDGenerator { SessionIDGenerator(jvmRoute: stickyRoute ?? route.configured) }

    // MARK: - Moving a session

    /// Changes `session`'s id as the lifecycle decided: to another store node (a relocation) or
    /// to this app node (a takeover). Counts as a change, so the session is written under its new
    /// id and the old copies are deleted. The one place a session's node or route changes.
    func move(_ session: Session, _ move: SessionLifecycle.Move) {
        let from = session.id
        switch move {
        case .toStoreNode(let node, let fromBackup):
            session.relocate(toNode: node)
            guard fromBackup else { return }
            metrics.relocated.increment()
            logger.info("session relocated to another store node", metadata: ["sm.session": "\(from.logTag)", "sm.node": "\(node)"])
        case .toAppNode(let route):
            session.takeOver(route: route)
            metrics.takenOver.increment()
            logger.info("session taken over from another app node", metadata: ["sm.session": "\(from.logTag)", "sm.route": "\(from.jvmRoute ?? "")"])
        }
    }

    /// Places a session before its write, as ``SessionLifecycle/placement(nodeID:nodeIsUp:available:policy:nodeIsFailover:availableIsPrimary:)``
    /// decides from the nodes' availability. Returns the placement.
    func place(_ session: Session) -> SessionLifecycle.Placement {
        guard policy.encodesNodeIDs else { return .stays }
        let id = session.id
        // The usual case, one atomic load per node: nothing to look up (with failover nodes, a
        // comparison of the node part with theirs).
        if storage.allNodesUp, let nodeID = id.nodeID, !storage.isFailover(nodeID) { return .stays }
        let node = storage.node(for: id)
        let available = storage.nodeForNewSession()
        let placement = SessionLifecycle.placement(
            nodeID: id.nodeID, nodeIsUp: node?.availability.isUp ?? true, available: available, policy: policy,
            nodeIsFailover: node?.isFailover ?? false, availableIsPrimary: available.map { storage.isPrimary($0) } ?? false
        )
        if case .moves(let target) = placement { move(session, .toStoreNode(target)) }
        return placement
    }

    // MARK: - Writing

    /// Makes sure every change made to the leased `session` so far is in the store (the caller
    /// holds a reference to it, or it is resident).
    ///
    /// `waits` `false` (sticky mode, after the response): when another request is writing the
    /// session, this one returns at once and that writer writes again when its write ends, so a
    /// busy session costs a few writes, not one per request, and no request waits for another's.
    /// A writer writes again at most `rewrites` times: a session changed without pause would
    /// otherwise keep one connection writing for as long as it lasts. Returns `true` when it
    /// stopped there with changes still handed to it (the caller has them written elsewhere).
    @discardableResult
    func persist(_ lease: SessionTable.Lease, _ session: Session, waits: Bool = true, rewrites: Int = .max) async throws -> Bool {
        // The generation this writer must see stored: the session's when it starts, and again
        // after a relocation or a rewrite (every change handed over meanwhile).
        var target: UInt64?
        var rewritten = 0
        var relocations = 0
        while true {
            let capture = session.capture(now: Date())
            let pinned = target ?? capture.generation
            target = pinned
            switch table.persistRequested(lease, capture, target: pinned, waits: waits) {
            case .upToDate, .handedToWriter:
                return false
            case .lockLost:
                throw SessionManagerError(
                    .lockLost,
                    "the session's lock was lost while the request ran (expired, or taken by another node); its changes are not written, so as not to overwrite a newer session"
                )
            case .touch(let id, let ttl):
                if try await storage.touch(id, ttl: ttl) { return false }
                // The store lost its copy (restarted empty, evicted it): written again.
                table.storeLostCopy(lease)
            case .wait:
                if try await table.waitForWrite(lease, target: pinned) { return false }
            case .write(var write):
                if let filter = configuration.sessionAttributeFilter { write.snapshot.attributes = filter.apply(write.snapshot.attributes) }
                var failure: SessionLifecycle.WriteFailure?
                do {
                    if try await !self.write(write) {
                        // Invalidated by principal on another node since it was read: not
                        // written; this node stops serving it too.
                        table.invalidatedElsewhere(lease)
                        principals.foundInvalidated(session)
                    }
                } catch {
                    failure = await writeFailure(error, of: write.id, relocations: relocations)
                }
                let completion = table.writeCompleted(lease, .init(write: write, failure: failure))
                if let id = completion.deleteWritten {
                    // Invalidated while it was written: the copy just written goes too.
                    try? await storage.delete(id)
                }
                switch completion.next {
                case .done:
                    if let failure { throw failure.error }
                    return false
                case .moveAndWriteAgain(let node):
                    move(session, .toStoreNode(node))
                    relocations += 1
                    target = nil
                case .writeAgain:
                    if rewritten >= rewrites { return true }
                    rewritten += 1
                    target = nil
                }
            }
        }
    }

    /// The facts of a failed write: whether its node stopped answering (a store's failure to
    /// answer, not ours: a session too large, a lost lock), and where the session could go.
    private func writeFailure(_ error: any Error, of id: SessionID, relocations: Int) async -> SessionLifecycle.WriteFailure {
        let nodeIsDown = policy.encodesNodeIDs && !(error is SessionManagerError) && StoreFailureKind.isOutage(error)
            && !(storage.node(for: id)?.availability.isUp ?? true)
        // Whether it moves is the lifecycle's decision; where it could go is found here (a probe
        // of the down nodes only when none is up).
        let available = nodeIsDown ? await storage.relocationTarget(afterFailureOf: id) : nil
        return .init(error: error, nodeIsDown: nodeIsDown, available: available, relocations: relocations)
    }

    /// One store write, skipped when the store already holds these exact contents; the lock is
    /// released with it (or alone, when it is skipped). `false`: the session was invalidated
    /// elsewhere, nothing was written (see ``SessionStorage/write(_:bytes:ttl:previousID:unlocking:loggedIn:)``).
    private func write(_ write: SessionLifecycle.Write) async throws -> Bool {
        let snapshot = write.snapshot
        let unchanged = write.previous.map {
            $0.attributes == snapshot.attributes && $0.maxInactiveInterval == snapshot.maxInactiveInterval
        } ?? false
        if unchanged && write.previousID == write.id {
            if let unlock = write.unlock { await storage.unlock(unlock) }
            return true
        }
        let start = ContinuousClock.now
        let bytes = try configuration.transcoder.encode(snapshot)
        metrics.encoding.recordNanoseconds(Int64((ContinuousClock.now - start).nanosecondCount))
        metrics.sessionSize.record(bytes.count)
        guard bytes.count <= configuration.maxSessionSize else {
            throw SessionManagerError(
                .sessionTooLarge,
                "encoded session is \(bytes.count) bytes, over maxSessionSize \(configuration.maxSessionSize); not written, the store keeps the previous copy"
            )
        }
        let written = try await storage.write(
            write.id,
            bytes: bytes,
            ttl: write.ttl,
            previousID: write.previousID,
            unlocking: write.unlock,
            loggedIn: write.loggedIn
        )
        if written { metrics.written.increment() }
        return written
    }

    /// Deletes every key the leased session was ever stored under (invalidation).
    func delete(_ lease: SessionTable.Lease, _ session: Session) async throws {
        let retired = session.withState { $0.retiredIDs }
        for id in table.deleteRequested(lease, retiredIDs: retired) { try await storage.delete(id) }
    }

    // MARK: - The store's health

    /// Number of requests whose session the store could not load, save or delete.
    var storeFailedRequestCount: Int { metrics.storeFailedRequests.value }

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

    /// `true` when a failed write or delete must not be hidden from the client (its answer becomes
    /// `503`): any store failure, reachable or not, except a refusal of the session itself
    /// (``SessionManagerError/Code/sessionTooLarge``), which is logged as the session's error.
    static func failsTheRequest(_ error: any Error) -> Bool {
        (error as? SessionManagerError)?.isTemporary ?? true
    }
}
