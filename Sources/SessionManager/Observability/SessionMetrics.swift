import CoreMetrics

/// The statistics of one context (msm's, `../shared/reference/msm-behaviour.md` §10, in today's
/// conventions) as swift-metrics handles, made once when the manager is built so that a request
/// only increments them (no lookup by name on the hot path).
///
/// The library never picks the backend: the handles come from `MetricsSystem.factory` (what the
/// program bootstrapped, or a task-local factory, as tests use); without one they are no-ops.
/// `enableStatistics="false"` makes them no-ops whatever is bootstrapped.
///
/// Labels stay bounded: the context path, the node id, and fixed words (`event`, `outcome`,
/// `direction`). Never a session id.
final class SessionMetrics: Sendable {
    /// The `context` label of every metric of this manager.
    let context: String
    let factory: any MetricsFactory

    let requestsWithSession: Counter
    let requestsWithoutSession: Counter
    let created: Counter
    let loaded: Counter
    let written: Counter
    let unknown: Counter
    let unknownCached: Counter
    let relocated: StatisticCounter
    let takenOver: StatisticCounter
    let rejected: StatisticCounter
    /// Requests whose session the store could not load, save or delete (answered `503`).
    let storeFailedRequests: StatisticCounter
    let lockTaken: StatisticCounter
    let lockWaited: StatisticCounter
    let lockFailed: StatisticCounter
    let lockRenewed: StatisticCounter
    let lockLost: StatisticCounter
    let lockWait: Timer
    /// Logins (``Session/logIn(principal:)``), sessions invalidated by principal (a log out
    /// everywhere, or an eviction by the per-principal limit), logins the limit refused, and
    /// resident sessions found invalidated elsewhere (a notice, or a revalidation).
    let logins: StatisticCounter
    let invalidatedByPrincipal: StatisticCounter
    let limitEvictions: StatisticCounter
    let limitRefusals: StatisticCounter
    let foundGone: StatisticCounter
    let encoding: Timer
    let decoding: Timer
    let sessionSize: Recorder
    let sessionsInMemory: Gauge

    /// - Parameters:
    ///   - context: the context path (`/` for the root context).
    ///   - enabled: `false` (msm `enableStatistics="false"`): every handle is a no-op.
    init(context: String, enabled: Bool) {
        self.context = context
        let factory: any MetricsFactory = enabled ? MetricsSystem.factory : NOOPMetricsHandler.instance
        self.factory = factory
        let base = [("context", context)]
        func counter(_ label: String, _ more: [(String, String)]) -> Counter {
            Counter(label: label, dimensions: base + more, factory: factory)
        }
        requestsWithSession = counter("sm_requests_total", [("session", "yes")])
        requestsWithoutSession = counter("sm_requests_total", [("session", "no")])
        created = counter("sm_sessions_total", [("event", "created")])
        loaded = counter("sm_sessions_total", [("event", "loaded")])
        written = counter("sm_sessions_total", [("event", "written")])
        unknown = counter("sm_sessions_total", [("event", "unknown")])
        unknownCached = counter("sm_sessions_total", [("event", "unknown_cached")])
        relocated = StatisticCounter(counter("sm_sessions_total", [("event", "relocated")]))
        takenOver = StatisticCounter(counter("sm_sessions_total", [("event", "taken_over")]))
        rejected = StatisticCounter(counter("sm_sessions_total", [("event", "rejected")]))
        storeFailedRequests = StatisticCounter(counter("sm_requests_failed_total", [("reason", "store_unavailable")]))
        lockTaken = StatisticCounter(counter("sm_locks_total", [("event", "taken")]))
        lockWaited = StatisticCounter(counter("sm_locks_total", [("event", "waited")]))
        lockFailed = StatisticCounter(counter("sm_locks_total", [("event", "failed")]))
        lockRenewed = StatisticCounter(counter("sm_locks_total", [("event", "renewed")]))
        lockLost = StatisticCounter(counter("sm_locks_total", [("event", "lost")]))
        lockWait = Timer(label: "sm_lock_wait_seconds", dimensions: base, factory: factory)
        logins = StatisticCounter(counter("sm_principal_events_total", [("event", "login")]))
        invalidatedByPrincipal = StatisticCounter(counter("sm_principal_events_total", [("event", "invalidated")]))
        limitEvictions = StatisticCounter(counter("sm_principal_events_total", [("event", "limit_evicted")]))
        limitRefusals = StatisticCounter(counter("sm_principal_events_total", [("event", "limit_refused")]))
        foundGone = StatisticCounter(counter("sm_principal_events_total", [("event", "resident_found_gone")]))
        encoding = Timer(label: "sm_transcode_seconds", dimensions: base + [("direction", "encode")], factory: factory)
        decoding = Timer(label: "sm_transcode_seconds", dimensions: base + [("direction", "decode")], factory: factory)
        sessionSize = Recorder(label: "sm_session_size_bytes", dimensions: base, aggregate: true, factory: factory)
        sessionsInMemory = Gauge(label: "sm_sessions_in_memory", dimensions: base, factory: factory)
    }

    /// The handles of one store node.
    func node(_ id: String) -> NodeMetrics {
        NodeMetrics(context: context, node: id, factory: factory)
    }
}

/// The swift-metrics handles of one store node of a context (the counters also read in process
/// are ``StatisticCounter``s).
struct NodeMetrics: Sendable {
    let succeeded: Counter
    let refused: StatisticCounter
    let failed: StatisticCounter
    let duration: Timer
    let backupWritten: StatisticCounter
    let backupFailed: Counter
    let wentDown: StatisticCounter
    let cameBack: StatisticCounter
    /// Recorded at each scrape from the node's state (``SessionManager/recordGauges()``).
    let up: Gauge

    init(context: String, node: String, factory: any MetricsFactory) {
        let base = [("context", context), ("node", node)]
        func counter(_ label: String, _ more: [(String, String)]) -> Counter {
            Counter(label: label, dimensions: base + more, factory: factory)
        }
        succeeded = counter("sm_store_operations_total", [("outcome", "ok")])
        refused = StatisticCounter(counter("sm_store_operations_total", [("outcome", "refused")]))
        failed = StatisticCounter(counter("sm_store_operations_total", [("outcome", "unreachable")]))
        duration = Timer(label: "sm_store_operation_seconds", dimensions: base, factory: factory)
        backupWritten = StatisticCounter(counter("sm_backup_writes_total", [("outcome", "ok")]))
        backupFailed = counter("sm_backup_writes_total", [("outcome", "failed")])
        wentDown = StatisticCounter(counter("sm_node_transitions_total", [("to", "down")]))
        cameBack = StatisticCounter(counter("sm_node_transitions_total", [("to", "up")]))
        up = Gauge(label: "sm_node_up", dimensions: base, factory: factory)
    }
}
