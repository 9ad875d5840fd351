import Foundation

/// The lifecycle's decisions that need no state of one session's machine: what a load's result
/// means (take it over, relocate it, rewrite its backup, or drop it), where a session goes before
/// its write, and when a request's changes are written. Pure functions of facts, so that the
/// executor only performs what they return and `SessionLifecycleTests` drive them without a store.
extension SessionLifecycle {
    // MARK: - A session's id changes

    /// A change of a session's id the lifecycle decided (same random part, so its entry and its
    /// index stay; the client gets a new cookie). The executor carries it out in one place.
    enum Move: Equatable {
        /// To store node `node` (a relocation: its node is down, or it has none yet).
        /// `fromBackup`: the session was read from the backup there while its node is down
        /// (msm's "memcached failover", counted in ``SessionManager/relocationCount``).
        case toStoreNode(String, fromBackup: Bool = false)
        /// To this app node (sticky mode: a takeover from another app node).
        case toAppNode(route: String)
    }

    // MARK: - A load found a copy

    /// What a load read and decoded, as facts.
    struct Found {
        /// The id the request asked for.
        let requestedID: SessionID
        /// The decoded copy.
        let snapshot: SessionSnapshot
        /// The copy came from a backup node.
        let fromBackup: Bool
        /// The session's node is down and the copy came from the backup on this node: the
        /// session can move there.
        let backupNodeWhilePrimaryIsDown: String?
        /// Seconds since the copy was written (a write stamps its last access time).
        let age: Double
        /// The context's `maxInactiveInterval`: the load reset the store's time to live to it.
        let contextTimeout: Int
        /// Seconds since the session was created, and the context's `maxSessionLifetime`.
        var sinceCreation: Double = 0
        var maxLifetime: Int?
    }

    /// How a found session is adopted by this node.
    struct Adoption: Equatable {
        /// The session has a timeout of its own: reset the primary's time to live to it.
        var touchWithOwnTimeout = false
        /// Sticky mode, and another app node served it last (it died, or the balancer moved the
        /// user): this node takes it over, its route in the id (a new cookie), written under the
        /// new id when the request ends and the old key deleted.
        var takeOver: String?
        /// Its node is down: it moves to this node (a new cookie), and is written there with a new
        /// backup; the old copies are deleted, best effort.
        var relocateTo: String?
        /// `true`: the store holds this copy under the requested id (the request writes only if it
        /// changes something, or under a new id). `false`: only the backup had it (its node lost
        /// the copy), or the backup was last written a quarter of the session's timeout ago (a
        /// session only read keeps its primary alive with each read, not its backup): the request
        /// ends with a write of both copies.
        var keepsStoredCopy = true
    }

    /// What to do with what a load found.
    enum LoadVerdict: Equatable {
        /// The copy has another id inside: ignored (the client gets a new session).
        case anotherID
        /// The primary's node answers but lacks the session, and the backup was written longer ago
        /// than the session's timeout: it may have expired (the backup lives a quarter longer than
        /// the primary), and an expired session never comes back.
        case expiredBackup
        /// The session is older than `maxSessionLifetime`: gone, whatever its activity (the
        /// store's copy is deleted).
        case pastLifetime
        /// Use it, as said.
        case adopt(Adoption)
    }

    /// Decides what a found copy means. `stickyRoute`: this process's route in sticky mode
    /// (`nil` otherwise); `writesBackups`: the context keeps backup copies.
    static func found(_ found: Found, stickyRoute: String?, writesBackups: Bool) -> LoadVerdict {
        let id = found.requestedID
        guard found.snapshot.id == id.description else { return .anotherID }
        if let lifetime = found.maxLifetime, found.sinceCreation >= Double(lifetime) { return .pastLifetime }
        let timeout = Double(found.snapshot.maxInactiveInterval)
        let movesTo = found.backupNodeWhilePrimaryIsDown
        if found.fromBackup && movesTo == nil && found.age >= timeout { return .expiredBackup }
        var adoption = Adoption()
        adoption.touchWithOwnTimeout = found.snapshot.maxInactiveInterval != found.contextTimeout && !found.fromBackup
        if let route = stickyRoute, !id.hasJvmRoute(route) {
            adoption.takeOver = route
            // Written under the new id anyway: the copy under the old one is what the store holds.
            if movesTo == nil && !found.fromBackup { return .adopt(adoption) }
        }
        if let node = movesTo {
            adoption.relocateTo = node
            return .adopt(adoption)
        }
        adoption.keepsStoredCopy = !(found.fromBackup || (writesBackups && found.age > timeout / 4))
        return .adopt(adoption)
    }

    // MARK: - Where a session goes before its write

    /// Where a session is written at the end of a request.
    enum Placement: Equatable {
        /// On the node its id names.
        case stays
        /// On another node: its id changes (same random part), and the client gets a new cookie.
        case moves(to: String)
        /// Nowhere yet: it was created while every store node was down and none is up; it lives
        /// in this process's memory until a node is (its next request places it).
        case memoryOnly
    }

    /// Where a session whose id names node `nodeID` is written. `nodeIsUp`: that node's
    /// availability; `available`: an available node (a primary one if any), `nil` when none is;
    /// `nodeIsFailover`: `nodeID` is one of this app node's failover nodes; `availableIsPrimary`:
    /// `available` is a primary node, not a failover one.
    static func placement(
        nodeID: String?, nodeIsUp: Bool, available: String?, policy: SessionPolicy,
        nodeIsFailover: Bool = false, availableIsPrimary: Bool = false
    ) -> Placement {
        guard policy.encodesNodeIDs else { return .stays }
        guard let nodeID else { return available.map { .moves(to: $0) } ?? .memoryOnly }
        // Sticky: a node down is not waited for (memory holds the primary copy, and the store
        // copy is what another app node takes the session over from). Non-sticky sessions move
        // when their read or their write finds the node down.
        if policy.isSticky && !nodeIsUp, let available, available != nodeID { return .moves(to: available) }
        // Sticky: a session put on a failover node (this app node's own store, while the others
        // were down) goes back to a primary node once one answers, or its copy would die with
        // this app node (msm leaves it there; its failover nodes are machines, ours may be this
        // very process, see <SessionPeer>).
        if policy.isSticky && nodeIsFailover, availableIsPrimary, let available, available != nodeID { return .moves(to: available) }
        return .stays
    }

    // MARK: - When a request's changes are written

    /// When the changes of a request are written, once the app has answered.
    enum WriteAtEnd: Equatable {
        /// Not now: the store has them, the session lives in memory only, or (a store only this
        /// process writes) it is written when it leaves memory.
        case none
        /// Before the answer, waited for: the answer claims nothing the store lacks, and a failed
        /// write fails the request (the store holds the primary copy).
        case beforeAnswer
        /// Sticky: before the answer, waited for (with another request's write of the session), but
        /// a failed write leaves the session unsaved in memory, which holds its primary copy, and
        /// the request is answered.
        case beforeAnswerKeptOnFailure
        /// Sticky with `sessionBackupAsync="false"`: before the answer, waited for at most this long.
        case beforeAnswerWithin(Duration)
        /// Sticky with `sessionBackupAsync` (the default): after the response is sent.
        case afterResponse
    }

    /// When the changes of a request are written. `upToDate`: the store has them; `clientKnowsID`:
    /// the client sent the session's current id (it is not new, taken over, relocated or
    /// changed); `draining`: the process is stopping (the user's next request goes elsewhere);
    /// `backupAsync`, `backupTimeout`: `sessionBackupAsync` and `sessionBackupTimeout`. The facts
    /// about the session are read only when the decision needs them (a resident session of a
    /// process-local store is decided from the policy alone, with no lock taken).
    ///
    /// Sticky mode writes before the answer, whatever `sessionBackupAsync` says, a session whose
    /// response hands the client an id it did not send: the client may take that id to another
    /// app node with its very next request (a round-robin balancer does, and the node the user just
    /// moved to shows the balancer moves them), and that node must find it in the store.
    static func writeAtEnd(
        policy: SessionPolicy,
        placement: Placement,
        upToDate: @autoclosure () -> Bool,
        clientKnowsID: @autoclosure () -> Bool,
        draining: Bool,
        backupAsync: Bool,
        backupTimeout: Duration
    ) -> WriteAtEnd {
        if placement == .memoryOnly { return .none }
        switch policy.residency {
        case .storeOnly:
            return upToDate() ? .none : .beforeAnswer
        case .writeOnEviction:
            return policy.residentLimit == 0 && !upToDate() ? .beforeAnswer : .none
        case .writeBehind:
            if upToDate() { return .none }
            if !clientKnowsID() || draining { return .beforeAnswerKeptOnFailure }
            return backupAsync ? .afterResponse : .beforeAnswerWithin(backupTimeout)
        }
    }
}
