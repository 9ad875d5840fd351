/// How a context treats its sessions, derived once from its configuration and its store nodes
/// and never re-derived per request: whether released sessions stay in memory and how the store
/// is kept in step, whether requests lock, whether ids carry node ids, whether copies get backups.
///
/// The app node's effective route is not here: since a process without a `jvmRoute` takes a route
/// of its own (and gives up a duplicate one), it can change while the process runs, so it reaches
/// the lifecycle with the events (see ``AppNodeRoute``).
struct SessionPolicy: Sendable, Equatable {
    /// How released sessions are kept.
    enum Residency: Sendable, Equatable {
        /// Nothing stays in memory after a session's last request: every request reads the store
        /// (non-sticky).
        case storeOnly
        /// The resident copy is the only one, written to the store only when it must leave memory
        /// (a process-local store, or ``SessionResidency/resident``): a single node nobody else
        /// writes, and no attribute filter (with one the store lacks the filtered attributes, and
        /// a resident copy would keep them for a while).
        case writeOnEviction
        /// Sticky: the resident copy is the primary one, and every change is written to the store
        /// (after the response by default), so another app node can take the session over. A
        /// full resident set evicts its least recently used saved session.
        case writeBehind
    }

    /// How released sessions are kept.
    let residency: Residency
    /// Most sessions kept resident; 0 with ``Residency/storeOnly``.
    let residentLimit: Int
    /// Requests may lock their sessions: a locking mode is set and sessions are not kept resident
    /// (msm locks in non-sticky mode only; a resident session has one node anyway).
    let locks: Bool
    /// Session ids carry the id of their store node (any node has an id).
    let encodesNodeIDs: Bool
    /// Sessions get a backup copy on another node (node ids, two or more non-failover nodes).
    let writesBackups: Bool

    /// Sticky mode: sessions are served from this node's memory and written behind.
    var isSticky: Bool { residency == .writeBehind }

    /// The policy of a context with `configuration` over `nodes` (their ids, failover flags and
    /// whether the first store lives in this process).
    init(configuration: ManagerConfiguration, nodes: [SessionStoreNode]) {
        let residency = Self.residency(configuration, nodes)
        self.residency = residency
        self.residentLimit = residency == .storeOnly ? 0 : max(0, configuration.residentSessionLimit)
        self.locks = configuration.lockingMode.locks && residency == .storeOnly
        self.encodesNodeIDs = nodes.contains { $0.id != nil }
        self.writesBackups = encodesNodeIDs && nodes.count { !$0.isFailover } > 1
    }

    /// A policy with these settings (the lifecycle's tests use it directly).
    init(residency: Residency, residentLimit: Int, locks: Bool = false, encodesNodeIDs: Bool = false, writesBackups: Bool = false) {
        self.residency = residency
        self.residentLimit = residentLimit
        self.locks = locks
        self.encodesNodeIDs = encodesNodeIDs
        self.writesBackups = writesBackups
    }

    private static func residency(_ configuration: ManagerConfiguration, _ nodes: [SessionStoreNode]) -> Residency {
        let soleUnfiltered = nodes.count == 1 && configuration.sessionAttributeFilter == nil
        switch configuration.residency {
        case .storeOnly: return .storeOnly
        case .resident: return soleUnfiltered ? .writeOnEviction : .storeOnly
        case .automatic:
            if nodes.count == 1 && nodes[0].store.isProcessLocal { return soleUnfiltered ? .writeOnEviction : .storeOnly }
            return configuration.sticky && configuration.residentSessionLimit > 0 ? .writeBehind : .storeOnly
        }
    }

    /// Whether a session released now may stay in memory, the resident set holding
    /// `residentCount` sessions. `mustStay`: it has no store node (every node was down when it was
    /// made) and memory is its only copy; `maxActiveSessions` bounds those.
    ///
    /// Asked after the table tried to make room (``makesRoomBySavedSessions``): a sticky session
    /// stays even beyond the limit, since memory holds its primary copy.
    func residency(residentCount: Int, mustStay: Bool) -> SessionLifecycle.Residency {
        if mustStay { return .room }
        if residentLimit == 0 { return .off }
        if residentCount < residentLimit { return .room }
        return isSticky ? .keptBeyondLimit : .full
    }

    /// The one choice between sessions: when the resident set is full, which sessions may leave to
    /// make room for the one being released, oldest first. Expired ones always (their store copy
    /// has expired too); in sticky mode also the least recently used one whose latest state is in
    /// the store (it is loaded again when needed). Whether a given session is expired or saved is
    /// its machine's answer (``SessionLifecycle/isExpired(now:)``, ``SessionLifecycle/isSaved(_:)``).
    var makesRoomBySavedSessions: Bool { isSticky }
}
