/// Where a store's connections report whether their server can be reached: the manager's one
/// notion of "down" for that node (``NodeAvailability`` for a node with an id, the store outage
/// for a context's single node), so that a node going away is logged and counted once, by the
/// manager, not once by the connection pool and again by the manager.
package protocol StoreReachabilityObserver: Sendable {
    /// A connection to the server was opened by an attempt started at `attemptStart`.
    func reachable(attemptStartedAt attemptStart: ContinuousClock.Instant)
    /// A connection attempt failed: the server cannot be reached.
    func unreachable(_ error: any Error)
}

/// A store whose connections can report to a ``StoreReachabilityObserver`` (a single Redis server,
/// a memcached server). The manager attaches its observer before it runs the store; until then,
/// and for stores that do not conform, the store says nothing of its own about reachability
/// beyond debug lines (and the manager learns it from its commands' outcomes).
package protocol ReportsReachability: SessionStore {
    /// Sends every later change of reachability to `observer`.
    func reportReachability(to observer: any StoreReachabilityObserver)
}
