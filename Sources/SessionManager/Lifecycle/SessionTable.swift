import Foundation
import Synchronization

/// The sessions that requests on this node are using right now, and (with residency) the ones
/// kept between requests: one ``SessionLifecycle`` per session, filed by the random part of the id
/// (see ``SessionRandomKey``), the suspended requests, and the recency list of resident sessions.
///
/// The table only stores: it runs the machines' transitions under its lock and resumes the
/// requests they name; every decision about one session is its machine's, and the one choice
/// between sessions (which may leave a full resident set) is the ``SessionPolicy``'s. A request
/// for a session that another in-flight request already has gets the same ``Session``
/// (reference-counted), as msm does per Tomcat: concurrent requests see each other's changes and
/// ``Session/update(_:_:)`` is atomic across them.
///
/// A request holds a ``Lease`` on the entry it found or created, from then until it releases the
/// session: it never looks its session up by id again, so an id change (``Session/changeSessionId()``
/// gives a new random part), a relocation or a takeover need no search.
///
/// **Locks.** The table's lock is never held across an await, and the only other lock taken while
/// it is held is a ``Session``'s own, to read its state at a release and when choosing a session
/// to evict: for the last reference that state must be final (only requests holding a reference
/// change a session, and a new one needs the table's lock to get one), which a read before taking
/// the table's lock could not promise. Sessions never take the table's lock, so the order is fixed.
final class SessionTable: Sendable {
    typealias Lifecycle = SessionLifecycle
    /// How a suspended request is resumed (errors are thrown into it).
    typealias Waiter = CheckedContinuation<Lifecycle.Wake, any Error>

    /// One session's lifecycle, boxed: the table holds a reference, so finding and updating a
    /// lifecycle never copies it out of the dictionary. Mutated only under the table's lock.
    fileprivate final class Entry: @unchecked Sendable {
        var lifecycle: Lifecycle
        /// The key it is filed under (its session's random part when it was last filed).
        var key: SessionRandomKey
        /// Links of the resident entries' recency list (``RecencyList``), `nil` outside it.
        var older: Entry?
        var newer: Entry?
        var isListed = false

        init(_ lifecycle: Lifecycle, key: SessionRandomKey) {
            self.lifecycle = lifecycle
            self.key = key
        }

        /// Reads the lifecycle in place. A plain read of a struct stored in a class copies it (its
        /// snapshot, waiters and phase: retains and enum payload copies), which on a request for a
        /// resident session cost more than the table lookup itself.
        @inline(__always)
        func inspect<R>(_ body: (inout Lifecycle) -> R) -> R { body(&lifecycle) }
    }

    /// A request's hold on one session's entry, from finding or creating it to releasing it (and a
    /// sticky write after the response, which may outlive the request's release).
    struct Lease: Sendable {
        fileprivate let entry: Entry
    }

    /// The resident entries from least to most recently released, linked through the entries
    /// (O(1) to add, remove and find the oldest), so a full resident set evicts the session unused
    /// for longest, not the one being released. Every link is cut when an entry leaves the list,
    /// so the references between entries never outlive it.
    private struct RecencyList {
        var oldest: Entry?
        var newest: Entry?

        mutating func append(_ entry: Entry) {
            guard !entry.isListed else { return }
            entry.isListed = true
            entry.older = newest
            entry.newer = nil
            newest?.newer = entry
            newest = entry
            if oldest == nil { oldest = entry }
        }

        mutating func remove(_ entry: Entry) {
            guard entry.isListed else { return }
            entry.isListed = false
            if let older = entry.older { older.newer = entry.newer } else { oldest = entry.newer }
            if let newer = entry.newer { newer.older = entry.older } else { newest = entry.older }
            entry.older = nil
            entry.newer = nil
        }
    }

    private struct Table {
        var entries: [SessionRandomKey: Entry] = [:]
        /// How many entries are resident.
        var residentCount = 0
        /// The resident entries by recency.
        var recency = RecencyList()
        /// The suspended requests, by the id the lifecycles know them by.
        var suspended: [Lifecycle.WaiterID: Waiter] = [:]
        var nextWaiterID: Lifecycle.WaiterID = 0

        /// Files a suspended request's continuation; returns the id to give the lifecycle.
        mutating func suspend(_ waiter: Waiter) -> Lifecycle.WaiterID {
            nextWaiterID &+= 1
            suspended[nextWaiterID] = waiter
            return nextWaiterID
        }

        /// Takes back the continuations of the requests to resume.
        mutating func resume(_ wakes: [(Lifecycle.WaiterID, Lifecycle.Wake)]) -> Wakes {
            Wakes(waiters: wakes.compactMap { id, wake in suspended.removeValue(forKey: id).map { ($0, wake) } })
        }

        func isFiled(_ entry: Entry) -> Bool { entries[entry.key] === entry }

        /// Removes `entry` from the table (and from the recency list).
        mutating func remove(_ entry: Entry) {
            if entry.isListed {
                recency.remove(entry)
                residentCount -= 1
            }
            if isFiled(entry) { entries[entry.key] = nil }
        }
    }

    /// Requests to resume, taken out of the table under its lock and resumed outside it.
    struct Wakes: Sendable {
        fileprivate var waiters: [(Waiter, Lifecycle.Wake)] = []
        static let none = Wakes()

        /// Resumes them.
        func resume() {
            for (waiter, wake) in waiters {
                if case .failed(let error) = wake { waiter.resume(throwing: error) } else { waiter.resume(returning: wake) }
            }
        }
    }

    /// Whether released sessions stay, how many, and which may leave a full resident set.
    let policy: SessionPolicy
    private let table = Mutex(Table())

    /// How often the manager's background work removes expired resident sessions.
    static let sweepInterval = Duration.seconds(60)

    /// Creates the table for sessions kept as `policy` says.
    init(policy: SessionPolicy) {
        self.policy = policy
    }

    /// Number of sessions in use.
    var count: Int { table.withLock { $0.entries.values.count { $0.lifecycle.isActive } } }

    /// Number of resident sessions (released, kept for the next request), expired ones not yet removed included.
    var residentCount: Int { table.withLock { $0.residentCount } }

    /// Number of sessions held: in use, being loaded, or resident (expired ones not yet removed included).
    var entryCount: Int { table.withLock { $0.entries.count } }

    /// Removes the expired resident sessions now (the manager's background work, and a context at
    /// `maxActiveSessions`).
    func removeExpiredResidents() {
        let now = ContinuousClock.now
        table.withLock { table in
            for entry in table.entries.values where entry.inspect({ $0.isExpired(now: now) }) { table.remove(entry) }
        }
    }

    // MARK: - Sessions invalidated elsewhere

    /// The instance of the session with this random part, if this node holds it.
    func session(withRandom random: String) -> Session? {
        guard SessionID.isRandomPart(random.utf8) else { return nil }
        let key = SessionRandomKey(hex: random.utf8)
        return table.withLock { $0.entries[key]?.inspect { $0.session } }
    }

    /// A session invalidated on another node: its lifecycle decides (``SessionLifecycle/invalidatedElsewhere()``)
    /// whether it leaves the table now (resident) or stays until its requests release it; its
    /// instance is returned, for the caller to invalidate outside the table's lock.
    ///
    /// An entry is re-filed under its session's new random part only when its last request
    /// releases it: a session that logged in (a new id) in a request still under way is found by
    /// its session's id instead (a scan, as rare as invalidations).
    func removeInvalidated(_ key: SessionRandomKey) -> Session? {
        table.withLock { table in
            let found = table.entries[key] ?? table.entries.values.first { entry in
                entry.inspect { $0.session?.id.randomKey == key }
            }
            guard let entry = found else { return nil }
            let session = entry.inspect { $0.session }
            if entry.inspect({ $0.invalidatedElsewhere() }) == .leave { table.remove(entry) }
            return session
        }
    }

    /// The leased session was found invalidated elsewhere by this node's own request (a
    /// revalidation, a write that found its tombstone): see ``SessionLifecycle/invalidatedElsewhere()``.
    /// The request holds it, so it stays until released.
    func invalidatedElsewhere(_ lease: Lease) {
        table.withLock { _ in _ = lease.entry.inspect { $0.invalidatedElsewhere() } }
    }

    /// The logged-in sessions this node holds (in use or resident).
    func loggedInSessions() -> [Session] {
        let sessions = table.withLock { table in table.entries.values.compactMap { entry in entry.inspect { $0.session } } }
        return sessions.filter(\.isLoggedIn)
    }

    // MARK: - Finding a session

    /// The first step of getting the session for `id`, without suspending: the machine's answer
    /// (shared, wait, load) and the lease on the entry it concerns. `namesAnotherAppNode` and
    /// `needsLock` are facts for ``SessionLifecycle/requestArrived(now:needsLock:namesAnotherAppNode:)``.
    func begin(_ id: SessionID, namesAnotherAppNode: Bool = false, needsLock: Bool = false) -> (Lifecycle.ArrivalAction, Lease) {
        let key = id.randomKey
        let now = ContinuousClock.now
        return table.withLock { table in
            guard let entry = table.entries[key] else {
                let entry = Entry(.loading(now: now), key: key)
                table.entries[key] = entry
                return (.load, Lease(entry: entry))
            }
            if entry.isListed {
                // Leaves the resident set whatever the machine decides (in use, or loaded again).
                table.recency.remove(entry)
                table.residentCount -= 1
            }
            return (entry.lifecycle.requestArrived(now: now, needsLock: needsLock, namesAnotherAppNode: namesAnotherAppNode), Lease(entry: entry))
        }
    }

    /// Publishes how a load started after ``SessionLifecycle/ArrivalAction/load`` ended, to the
    /// requests waiting for it.
    func completeLoad(_ lease: Lease, _ outcome: Lifecycle.LoadOutcome) {
        let now = ContinuousClock.now
        let wakes = table.withLock { table in
            let completion = lease.entry.lifecycle.loadCompleted(outcome, now: now)
            if !completion.keepsEntry { table.remove(lease.entry) }
            return table.resume(completion.wakes)
        }
        wakes.resume()
    }

    /// Waits after ``SessionLifecycle/ArrivalAction/wait``: ``SessionLifecycle/Wake/loaded(_:)``
    /// (a reference taken) or ``SessionLifecycle/Wake/lookAgain`` (call ``begin(_:namesAnotherAppNode:needsLock:)`` again).
    func wait(_ lease: Lease, needsLock: Bool = false) async throws -> Lifecycle.Wake {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let now: Lifecycle.Wake? = table.withLock { table in
                // Its load ended in "not here" and the entry went: look again.
                guard table.isFiled(lease.entry) else { return .lookAgain }
                let id = table.suspend(waiter)
                let wake = lease.entry.lifecycle.waiterArrived(id, needsLock: needsLock, now: .now)
                if wake != nil { table.suspended[id] = nil }
                return wake
            }
            if let now { Wakes(waiters: [(waiter, now)]).resume() }
        }
    }

    /// Files a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) -> Lease {
        let now = ContinuousClock.now
        let key = session.id.randomKey
        let entry = Entry(.created(session, now: now), key: key)
        table.withLock { $0.entries[key] = entry }
        return Lease(entry: entry)
    }

    /// Files a session this request created if fewer than `limit` entries are held; checked and
    /// inserted under one lock, so concurrent creations cannot overshoot the limit.
    func register(_ session: Session, whileFewerThan limit: Int) -> Lease? {
        let now = ContinuousClock.now
        let key = session.id.randomKey
        return table.withLock { table in
            guard table.entries.count < limit else { return nil }
            let entry = Entry(.created(session, now: now), key: key)
            table.entries[key] = entry
            return Lease(entry: entry)
        }
    }

    // MARK: - Writing a session

    /// Whether the store holds every change made so far (`status`, read just before) and no touch
    /// is due, so a request can skip persisting without suspending.
    func isUpToDate(_ lease: Lease, _ status: Session.Status) -> Bool {
        let now = ContinuousClock.now
        return table.withLock { _ in
            lease.entry.inspect { $0.isUpToDate(target: status.generation, ttl: status.ttl, now: now) }
        }
    }

    /// The machine's answer to a request that wants its changes stored (see
    /// ``SessionLifecycle/persistRequested(_:target:now:waits:)``).
    func persistRequested(_ lease: Lease, _ capture: Session.Capture, target: UInt64?, waits: Bool) -> Lifecycle.PersistAction {
        let now = ContinuousClock.now
        return table.withLock { _ in lease.entry.lifecycle.persistRequested(capture, target: target, now: now, waits: waits) }
    }

    /// Waits for the write in progress; `true` when it covered generation `target`, `false` to ask
    /// again. Throws the error of a failed write that covered it.
    func waitForWrite(_ lease: Lease, target: UInt64) async throws -> Bool {
        let wake = try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let now: Lifecycle.Wake? = table.withLock { table in
                let id = table.suspend(waiter)
                let wake = lease.entry.lifecycle.writeWaiterArrived(id, target: target)
                if wake != nil { table.suspended[id] = nil }
                return wake
            }
            if let now { Wakes(waiters: [(waiter, now)]).resume() }
        }
        if case .covered = wake { return true }
        return false
    }

    /// Reports a write the machine asked for and resumes the requests waiting for it; returns
    /// what the writer does next.
    func writeCompleted(_ lease: Lease, _ result: Lifecycle.WriteResult) -> Lifecycle.WriteCompletion {
        let now = ContinuousClock.now
        let (completion, wakes) = table.withLock { table in
            let completion = lease.entry.lifecycle.writeCompleted(result, now: now)
            return (completion, table.resume(completion.wakes))
        }
        wakes.resume()
        return completion
    }

    /// A touch found no store copy: the next persist writes it.
    func storeLostCopy(_ lease: Lease) {
        table.withLock { _ in lease.entry.lifecycle.storeLostCopy() }
    }

    /// The ids whose store keys an invalidation must delete (`retiredIDs`: the ids the session had
    /// before an id change).
    func deleteRequested(_ lease: Lease, retiredIDs: [SessionID]) -> [SessionID] {
        table.withLock { _ in lease.entry.lifecycle.deleteRequested(retiredIDs: retiredIDs) }
    }

    /// The valid resident sessions.
    func residents() -> [(Session, Lease)] {
        table.withLock { table in
            table.entries.values.compactMap { entry -> (Session, Lease)? in
                guard entry.inspect({ $0.isResident }), let session = entry.inspect({ $0.session }), session.status().isValid else { return nil }
                return (session, Lease(entry: entry))
            }
        }
    }

    /// The resident sessions whose latest state the store lacks (sticky writes that failed), to
    /// write again once their node answers.
    func unsavedResidents() -> [(Session, Lease)] {
        table.withLock { table in
            table.entries.values.compactMap { entry -> (Session, Lease)? in
                guard entry.inspect({ $0.isResident }), let session = entry.inspect({ $0.session }) else { return nil }
                let status = session.status()
                return status.isValid && !entry.inspect({ $0.isSaved(status) }) ? (session, Lease(entry: entry)) : nil
            }
        }
    }

    // MARK: - Store locks

    /// The store locks held here that are due an extension (half their expiration passed).
    func locksDueForRenewal() -> [SessionLock] {
        let now = ContinuousClock.now
        return table.withLock { table in table.entries.values.compactMap { $0.inspect { $0.lockRenewalDue(now: now) } } }
    }

    /// Reports the renewal of `lock` started at `startedAt`: `renewed` is the lock now, `nil` when
    /// the store no longer had it as ours. Returns `true` when the hold is now known lost.
    func lockRenewed(_ lock: SessionLock, as renewed: SessionLock?, startedAt: ContinuousClock.Instant) -> Bool {
        table.withLock { table in
            for entry in table.entries.values where entry.inspect({ $0.lockedHold?.lock.lock.token == lock.lock.token }) {
                return entry.lifecycle.lockRenewed(lock, as: renewed, startedAt: startedAt)
            }
            return false
        }
    }

    // MARK: - Releasing a session

    /// A store lock to release for a session that left this node, and the entry that waits for it.
    struct Unlock: Sendable {
        let lock: SessionLock
        fileprivate let entry: Entry
    }

    /// Reports the release of a lock (``ReleaseOutcome/released(_:then:unlock:)``): the entry goes,
    /// and the requests that waited for it look again.
    func unlockCompleted(_ unlock: Unlock) {
        let wakes = table.withLock { table in
            let waiting = unlock.entry.lifecycle.unlockCompleted()
            table.remove(unlock.entry)
            return table.resume(waiting.map { ($0, .lookAgain) })
        }
        wakes.resume()
    }

    /// What ``release(_:_:ifUnsaved:keepInMemory:)`` did.
    enum ReleaseOutcome {
        /// The reference is dropped; the session's state at that moment, the requests to resume
        /// (they waited for the hold to end), and, when the session left this node locked, its
        /// lock: release it, then report with ``unlockCompleted(_:)``.
        case released(Session.Status, then: Wakes, unlock: Unlock?)
        /// Nothing was done: this is the last reference, the resident set is full and the store
        /// lacks the session's latest state. Write it, then release again.
        case persistFirst
    }

    /// Drops one reference to the leased `session` (`keepInMemory`: it has no store node and stays
    /// resident after its last request), and files it under its current id if that changed. What
    /// happens after the last reference is the machine's decision
    /// (``SessionLifecycle/requestReleased(status:residency:ifUnsaved:now:)``).
    func release(
        _ lease: Lease,
        _ session: Session,
        ifUnsaved: Lifecycle.UnsavedSession = .askToPersist,
        keepInMemory: Bool = false
    ) -> ReleaseOutcome {
        let now = ContinuousClock.now
        let entry = lease.entry
        return table.withLock { table in
            let status = session.status()
            if policy.residentLimit > 0 && table.residentCount >= policy.residentLimit && status.isValid && entry.inspect({ $0.isActive }) {
                makeRoom(&table, sparing: entry, now: now)
            }
            let residency = policy.residency(residentCount: table.residentCount, mustStay: keepInMemory)
            let action = entry.lifecycle.requestReleased(status: status, residency: residency, ifUnsaved: ifUnsaved, now: now)
            switch action {
            case .persistFirst:
                return .persistFirst
            case .remove:
                let departure = entry.lifecycle.departed()
                let wakes = table.resume(departure.wake.map { ($0, .lookAgain) })
                guard let lock = departure.unlock else {
                    table.remove(entry)
                    return .released(status, then: wakes, unlock: nil)
                }
                // The entry stays until the lock is released (see SessionLifecycle.Departure).
                return .released(status, then: wakes, unlock: Unlock(lock: lock, entry: entry))
            case .stillShared, .resident:
                if case .resident = action {
                    table.residentCount += 1
                    table.recency.append(entry)
                    // A kept session is no longer new to the requests that find it, and its last
                    // access time is the end of this request.
                    session.markResident()
                }
                if entry.key != status.id.randomKey && table.isFiled(entry) {
                    // Filed under the id it has now (changeSessionId gives a new random part).
                    table.entries[entry.key] = nil
                    entry.key = status.id.randomKey
                    table.entries[entry.key] = entry
                }
                return .released(status, then: .none, unlock: nil)
            }
        }
    }

    /// Makes room in a full resident set as the policy says: among the oldest few resident
    /// sessions, the expired ones leave, and in sticky mode the least recently used one whose
    /// latest state is in the store (one whose write is still under way is passed over).
    private func makeRoom(_ table: inout Table, sparing spared: Entry, now: ContinuousClock.Instant) {
        var candidate = table.recency.oldest
        var looked = 0
        while let entry = candidate, looked < 16 {
            candidate = entry.newer
            looked += 1
            guard entry !== spared else { continue }
            if entry.inspect({ $0.isExpired(now: now) }) {
                table.remove(entry)
                continue
            }
            guard policy.makesRoomBySavedSessions, let session = entry.inspect({ $0.session }) else { continue }
            let status = session.status()
            guard entry.inspect({ $0.isSaved(status) }) else { continue }
            table.remove(entry)
            return
        }
    }
}
