import Synchronization

/// When a router looks at its topology again (a cluster's slot map, the master Sentinel names):
/// at least every ``interval``, at most every ``spacing`` when asked to (a redirect, a failure).
/// The decisions, without sockets: ``TopologyWatch`` runs them.
struct RefreshSchedule: Sendable, Equatable {
    /// The longest a topology is kept without a look.
    let interval: Duration
    /// The shortest time between two looks asked for.
    let spacing: Duration
    /// A look was asked for since the last one started.
    private(set) var wanted = false
    /// A look is under way.
    private(set) var running = false
    /// When the last look started; `nil` before the first.
    private(set) var last: ContinuousClock.Instant?

    init(interval: Duration, spacing: Duration) {
        self.interval = interval
        self.spacing = spacing
    }

    /// Something suggests the topology changed.
    mutating func request() { wanted = true }

    /// Whether the watch loop looks now: asked for and ``spacing`` passed, or ``interval`` passed.
    func isDue(at now: ContinuousClock.Instant) -> Bool {
        guard let last else { return true }
        let age = now - last
        return (wanted && age >= spacing) || age >= interval
    }

    /// Whether a command that found no server may look itself, now: none under way, and none
    /// started within ``spacing`` (so that a flood of commands against an absent topology does not
    /// become a flood of looks).
    func mayLookInline(at now: ContinuousClock.Instant) -> Bool {
        !running && last.map { now - $0 >= spacing } ?? true
    }

    mutating func begin(at now: ContinuousClock.Instant) {
        wanted = false
        running = true
        last = now
    }

    mutating func end() { running = false }
}

/// A ``RefreshSchedule`` shared by a router's commands and its watch loop.
final class TopologyWatch: Sendable {
    private let schedule: Mutex<RefreshSchedule>

    init(interval: Duration, spacing: Duration) {
        schedule = Mutex(RefreshSchedule(interval: interval, spacing: spacing))
    }

    /// Asks for a look soon (at most ``RefreshSchedule/spacing`` after the last).
    func request() { schedule.withLock { $0.request() } }

    /// Runs one look, recorded as such (whoever runs it: the loop or a command).
    func look<T>(_ body: () async -> T) async -> T {
        schedule.withLock { $0.begin(at: .now) }
        defer { schedule.withLock { $0.end() } }
        return await body()
    }

    /// For a command that found no server: waits while a look is under way (the one at start), at
    /// most until `deadline`; then runs `body` itself if ``RefreshSchedule/mayLookInline(at:)``.
    func settle(until deadline: ContinuousClock.Instant, lookingWith body: () async -> Void) async throws {
        while schedule.withLock({ $0.running }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        if schedule.withLock({ $0.mayLookInline(at: .now) }) { await look(body) }
    }

    /// Until cancelled: checks every 20 ms whether a look is due and runs `body` then.
    func keepCurrent(_ body: () async -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
            guard !Task.isCancelled, schedule.withLock({ $0.isDue(at: .now) }) else { continue }
            await look(body)
        }
    }
}
