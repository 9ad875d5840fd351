import Synchronization

/// Ids the store recently said it does not know (msm's invalid-ids cache: `msm-behaviour.md`
/// §4.1), so that a client sending the same unknown id again and again (a stale cookie on a busy
/// page, a script replaying a forged one) costs no store read within ``lifetime``.
///
/// Bounded: at most ``capacity`` ids, the oldest forgotten first; an entry lives ``lifetime``.
/// No id the store knows is ever refused by it: an id enters only after the store answered
/// "not found", and ids are random (a session created later never has an id seen before).
/// A flood of *distinct* random ids is not helped by any cache; each costs one read per node
/// that could hold it, which is what a request with a real session costs (README → Operations).
///
/// One atomic load per lookup while it is empty; a lock only when ids are cached.
final class UnknownSessionIDs: Sendable {
    /// How long an id stays known as unknown. Short: a sticky session's first write happens after
    /// its first response, and a second node asked for it before that must not refuse it for long.
    static let lifetime = Duration.milliseconds(500)
    /// Most ids remembered.
    static let capacity = 4096

    private struct Entries {
        var expiry: [SessionID: ContinuousClock.Instant] = [:]
        /// Insertion order, for eviction; may hold ids already removed.
        var order: [SessionID] = []
        var head = 0
    }

    private let entries = Mutex(Entries())
    private let count = Atomic<Int>(0)

    /// `true` when `id` was found unknown less than ``lifetime`` ago.
    func contains(_ id: SessionID, now: ContinuousClock.Instant = .now) -> Bool {
        guard count.load(ordering: .relaxed) > 0 else { return false }
        return entries.withLock { entries in
            guard let expiry = entries.expiry[id] else { return false }
            if expiry > now { return true }
            entries.expiry[id] = nil
            count.store(entries.expiry.count, ordering: .relaxed)
            return false
        }
    }

    /// Remembers that the store does not know `id`.
    func insert(_ id: SessionID, now: ContinuousClock.Instant = .now) {
        entries.withLock { entries in
            if entries.expiry.updateValue(now + Self.lifetime, forKey: id) == nil { entries.order.append(id) }
            // Forget the oldest while full, and expired ones at the front.
            while entries.head < entries.order.count {
                let oldest = entries.order[entries.head]
                guard let expiry = entries.expiry[oldest] else { entries.head += 1; continue }
                guard entries.expiry.count > Self.capacity || expiry <= now else { break }
                entries.expiry[oldest] = nil
                entries.head += 1
            }
            if entries.head > 1024 && entries.head * 2 > entries.order.count {
                entries.order.removeFirst(entries.head)
                entries.head = 0
            }
            count.store(entries.expiry.count, ordering: .relaxed)
        }
    }

    /// Number of ids remembered (expired ones not yet removed included).
    var size: Int { count.load(ordering: .relaxed) }
}
