import Logging

/// A context's single store node (no node ids) as the manager sees it: an outage starts when an
/// operation or a connection attempt finds it unreachable and ends when one works, logged once
/// each way, never per request (a store that is down for a minute under a thousand requests a
/// second logs two lines, not sixty thousand). Nodes with ids have a ``NodeAvailability`` each.
final class StoreOutage: StoreReachabilityObserver {
    private let log = StateChangeLog()
    private let logger: Logger
    /// What requests get meanwhile, for the log line.
    private let consequence: String

    init(sticky: Bool, logger: Logger) {
        self.logger = logger
        self.consequence = sticky
            ? "sessions kept in memory are served from there and written once it answers; others fail (503)"
            : "requests that need a session fail (503)"
    }

    /// `true` while the store is found unreachable.
    var isActive: Bool { log.isActive }

    /// An operation worked: ends an outage, if one was logged. One atomic load otherwise.
    @inline(__always)
    func ended() {
        log.end { logger.notice("session store available again") }
    }

    /// An operation failed: a store that cannot be reached or timed out starts an outage. A
    /// refusal of one session (too large) says nothing about the store.
    func began(_ error: any Error) {
        guard StoreFailureKind.isOutage(error) else { return }
        log.begin { logger.warning("session store unavailable: \(consequence) until it answers again", metadata: ["sm.error": "\(error)"]) }
    }

    func reachable(attemptStartedAt attemptStart: ContinuousClock.Instant) { ended() }

    func unreachable(_ error: any Error) { began(error) }
}
