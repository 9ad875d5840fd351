import Synchronization

/// The sessions that requests on this node are using right now, by id, and (for a process-local
/// store) the ones kept resident between requests.
///
/// A request for an id that another in-flight request already has gets the same ``Session``
/// (reference-counted), as msm does per Tomcat: concurrent requests see each other's changes and
/// ``Session/update(_:_:)`` is atomic across them. Loading is single-flight: while one request
/// loads an id from the store, the others for that id wait for its result instead of loading a
/// copy of their own — a second copy, registered after the first had been saved and released,
/// would be stale and its write would lose the first one's update.
///
/// When the last request releases a session, the entry goes away, so the store stays the source
/// of truth — unless residency is on (``init(residentLimit:)`` above zero, which the manager does
/// only for a store no one else writes, see ``SessionStore/isProcessLocal``). Then the session
/// stays here, *resident*, until it has been idle for its `maxInactiveInterval`, and the next
/// request uses it without a load or a decode. The resident copy is the primary one (as in
/// Tomcat's own session manager): it is written to the store only when it must leave memory
/// alive, because the resident set is full (see ``release(_:registeredID:ifUnsaved:)``).
final class ActiveSessions: Sendable {
    private typealias Waiter = CheckedContinuation<WaitOutcome, any Error>

    private enum Entry {
        case loading([Waiter])
        case active(Session, references: Int)
        /// Released by every request; usable until `expiry`.
        case resident(Session, expiry: ContinuousClock.Instant)
    }

    private struct Table {
        /// Keyed by ``SessionID``; each operation looks its key up once and updates the entry in
        /// place through the index.
        var entries: [SessionID: Entry] = [:]
        /// How many entries are ``Entry/resident(_:expiry:)``.
        var residentCount = 0
        /// When expired resident sessions were last removed.
        var lastSweep: ContinuousClock.Instant
    }

    /// Most sessions kept resident (0: none, every release drops the entry).
    let residentLimit: Int
    private let table: Mutex<Table>

    /// How often expired resident sessions are removed, and the least time between two removals
    /// forced by a full resident set (so a set full of live sessions is not scanned per request).
    static let sweepInterval = Duration.seconds(60)
    static let fullSweepInterval = Duration.seconds(1)

    /// Creates the table; `residentLimit` 0 keeps no session after its last request.
    init(residentLimit: Int = 0) {
        self.residentLimit = max(0, residentLimit)
        self.table = Mutex(Table(lastSweep: .now))
    }

    /// Number of sessions in use.
    var count: Int {
        table.withLock { $0.entries.values.count { if case .active = $0 { true } else { false } } }
    }

    /// Number of resident sessions (released, kept for the next request), expired ones not yet removed included.
    var residentCount: Int { table.withLock { $0.residentCount } }

    /// Number of sessions held: in use, being loaded, or resident (expired ones not yet removed included).
    var entryCount: Int { table.withLock { $0.entries.count } }

    /// Removes the expired resident sessions now.
    func removeExpiredResidents() {
        let now = ContinuousClock.now
        table.withLock { sweep(&$0, now: now) }
    }

    /// What ``begin(_:)`` found for an id.
    enum Lookup {
        /// In use by another request: shared, with one more reference.
        case shared(Session)
        /// Another request is loading it: ``wait(for:)``.
        case loading
        /// Nobody has it: the caller loads it and calls ``completeLoad(_:with:)``.
        case mustLoad
    }

    /// The first step of getting the session for `id`, without suspending.
    func begin(_ id: SessionID) -> Lookup {
        table.withLock { table in
            guard let index = table.entries.index(forKey: id) else {
                table.entries[id] = .loading([])
                return .mustLoad
            }
            switch table.entries.values[index] {
            case .active(let session, let references):
                table.entries.values[index] = .active(session, references: references + 1)
                return .shared(session)
            case .loading:
                return .loading
            case .resident(let session, let expiry):
                table.residentCount -= 1
                if expiry > .now {
                    table.entries.values[index] = .active(session, references: 1)
                    return .shared(session)
                }
                // Idle for longer than its timeout: the store copy has expired as well (it was
                // last written or touched before the release), so a load finds nothing.
                table.entries.values[index] = .loading([])
                return .mustLoad
            }
        }
    }

    /// Publishes the result of a load started after ``Lookup/mustLoad`` to the requests waiting for it.
    func completeLoad(_ id: SessionID, with result: Result<Session?, any Error>) {
        let waiters: [Waiter] = table.withLock { table in
            guard let index = table.entries.index(forKey: id), case .loading(let waiters) = table.entries.values[index] else { return [] }
            if case .success(let session?) = result {
                table.entries.values[index] = .active(session, references: 1 + waiters.count)
            } else {
                table.entries.remove(at: index)
            }
            return waiters
        }
        let outcome = result.map(WaitOutcome.loaded)
        for waiter in waiters { waiter.resume(with: outcome) }
    }

    /// What ``wait(for:)`` ended with.
    enum WaitOutcome {
        /// The load finished: the session, or `nil` when the store does not know the id.
        case loaded(Session?)
        /// The load finished and every request released the session before this one queued up:
        /// look again with ``begin(_:)`` (the store has its latest state). Answering `nil` here
        /// would make the caller start a new session and lose the client's.
        case lookAgain
    }

    /// Waits for the load another request is doing (after ``Lookup/loading``).
    func wait(for id: SessionID) async throws -> WaitOutcome {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            // `nil`: queued, ``completeLoad(_:with:)`` resumes it.
            let now: WaitOutcome? = table.withLock { table in
                guard let index = table.entries.index(forKey: id) else { return .lookAgain }
                switch table.entries.values[index] {
                case .loading(let waiters):
                    table.entries.values[index] = .loading(waiters + [waiter])
                    return nil
                case .active(let session, let references):
                    table.entries.values[index] = .active(session, references: references + 1)
                    return .loaded(session)
                case .resident:
                    // Loaded, used and released already: ``begin(_:)`` checks its expiry.
                    return .lookAgain
                }
            }
            if let now { waiter.resume(returning: now) }
        }
    }

    /// Registers a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) {
        table.withLock { $0.entries[session.id] = .active(session, references: 1) }
    }

    /// Registers a session this request created if fewer than `limit` entries are held; checked
    /// and inserted under one lock, so concurrent creations cannot overshoot the limit.
    func register(_ session: Session, whileFewerThan limit: Int) -> Bool {
        table.withLock { table in
            guard table.entries.count < limit else { return false }
            table.entries[session.id] = .active(session, references: 1)
            return true
        }
    }

    /// What ``release(_:registeredID:ifUnsaved:)`` did.
    enum ReleaseOutcome {
        /// The reference is dropped; the session's state at that moment.
        case released(Session.Status)
        /// Nothing was done: this is the last reference, the resident set is full and the store
        /// lacks the session's latest state. Write it, then release again.
        case persistFirst
    }

    /// What to do with a session that cannot stay resident and whose latest state is not in the store.
    enum UnsavedSession {
        /// Answer ``ReleaseOutcome/persistFirst``.
        case askToPersist
        /// Remove it (its write was tried and refused): the store's copy, if any, is what remains.
        case drop
    }

    /// Drops one reference to `session`, which was registered under `registeredID`; re-files it under
    /// its current id if that changed. After the last reference a valid session stays resident
    /// when residency is on and there is room; otherwise it is removed — once the store holds its
    /// latest state (see ``UnsavedSession``). A resident session is written to the store only
    /// when it has to leave memory alive, so requests that find it cost no store operation.
    ///
    /// The session's state is read under the table lock: for the last reference it is final, since
    /// only requests holding a reference change a session and a new one needs this lock to get one.
    /// (Read earlier, a change by a request that released in between would be missed, and the
    /// session dropped without it.)
    func release(_ session: Session, registeredID: SessionID, ifUnsaved: UnsavedSession = .askToPersist) -> ReleaseOutcome {
        let now = ContinuousClock.now
        return table.withLock { table in
            if residentLimit > 0 { sweepIfDue(&table, now: now) }
            let status = session.status()
            /// Where `session` is filed under `id`, with its reference count.
            func slot(_ id: SessionID) -> (index: Dictionary<SessionID, Entry>.Index, references: Int)? {
                guard let index = table.entries.index(forKey: id),
                    case .active(let filed, let references) = table.entries.values[index], filed === session
                else { return nil }
                return (index, references)
            }
            // Under `registeredID`, or re-filed by another request of it under its current id or,
            // after several id changes, under an earlier one.
            var filed = slot(registeredID) ?? (status.id == registeredID ? nil : slot(status.id))
            if filed == nil {
                for id in session.withState({ $0.retiredIDs }) where filed == nil { filed = slot(id) }
            }
            guard let (index, references) = filed else { return .released(status) }
            let remaining: Entry?
            if !status.isValid {
                remaining = nil
            } else if references > 1 {
                remaining = .active(session, references: references - 1)
            } else if residentLimit > 0 {
                let residency = session.prepareResidency(now: now, status: status)
                if table.residentCount < residentLimit {
                    remaining = .resident(session, expiry: residency.expiry)
                    table.residentCount += 1
                } else if !residency.isSaved && ifUnsaved == .askToPersist {
                    return .persistFirst
                } else {
                    remaining = nil
                }
            } else {
                remaining = nil
            }
            if let remaining, table.entries.keys[index] == status.id {
                table.entries.values[index] = remaining
            } else {
                table.entries.remove(at: index)
                if let remaining { table.entries[status.id] = remaining }
            }
            return .released(status)
        }
    }

    /// Removes the expired resident sessions every ``sweepInterval``, or sooner (at most every
    /// ``fullSweepInterval``) when the resident set is full.
    private func sweepIfDue(_ table: inout Table, now: ContinuousClock.Instant) {
        let full = table.residentCount >= residentLimit
        let since = now - table.lastSweep
        guard since >= Self.sweepInterval || (full && since >= Self.fullSweepInterval) else { return }
        sweep(&table, now: now)
    }

    private func sweep(_ table: inout Table, now: ContinuousClock.Instant) {
        table.entries = table.entries.filter { entry in
            if case .resident(_, let expiry) = entry.value { expiry > now } else { true }
        }
        table.residentCount = table.entries.values.count { if case .resident = $0 { true } else { false } }
        table.lastSweep = now
    }
}
