import Foundation
import Synchronization

/// The sessions that requests on this node are using right now, and (with residency) the ones
/// kept between requests: one ``SessionLifecycle`` per session, under one lock, filed by the
/// random part of the id (see ``SessionRandomKey``).
///
/// This type only runs the machines' transitions under its lock and resumes the requests they
/// name; the decisions are the machines'. A request for a session that another in-flight request
/// already has gets the same ``Session`` (reference-counted), as msm does per Tomcat: concurrent
/// requests see each other's changes and ``Session/update(_:_:)`` is atomic across them. Loading
/// is single-flight, writing one at a time per session (see ``SessionLifecycle``).
///
/// When the last request releases a session, the entry goes away, so the store stays the source
/// of truth — unless residency is on (``SessionPolicy/residentLimit`` above zero). Then the session stays
/// here, *resident*, until it has been idle for its `maxInactiveInterval`, and the next request
/// uses it without a load or a decode. The resident copy is the primary one (as in Tomcat's own
/// session manager): it is written to the store only when it must leave memory alive, because the
/// resident set is full.
final class ActiveSessions: Sendable {
    /// How a suspended request is resumed: the outcome of the load or write it waited for.
    typealias Waiter = CheckedContinuation<Wake, any Error>
    typealias Lifecycle = SessionLifecycle

    /// What a suspended request is resumed with (errors are thrown into it).
    enum Wake {
        /// The load finished: the session (a reference taken), or `nil` when the store does not know it.
        case loaded(Session?)
        /// Look again: the session was loaded, used and released before this request queued.
        case lookAgain
        /// The write it waited for covered its changes.
        case covered
        /// The write it waited for covered older changes only: ask again.
        case retry
    }

    /// One session's lifecycle, boxed: the table holds a reference, so finding and updating a
    /// lifecycle never copies it out of the dictionary (a copy of the struct, with its snapshot
    /// and waiters, cost more than the rest of a lookup).
    private final class Entry {
        var lifecycle: Lifecycle
        /// Links of the resident entries' recency list (``RecencyList``), `nil` outside it.
        var older: Entry?
        var newer: Entry?
        var isListed = false
        init(_ lifecycle: Lifecycle) { self.lifecycle = lifecycle }

        /// Reads the lifecycle in place. A plain read of a struct stored in a class copies it (its
        /// snapshot, waiters and phase: retains and enum payload copies), which on a request for a
        /// resident session cost more than the table lookup itself.
        @inline(__always)
        func inspect<R>(_ body: (inout Lifecycle) -> R) -> R { body(&lifecycle) }
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
        /// When expired resident sessions were last removed.
        var lastSweep: ContinuousClock.Instant
        /// The suspended requests, by the id the lifecycles know them by.
        var suspended: [Lifecycle.WaiterID: Waiter] = [:]
        var nextWaiterID: Lifecycle.WaiterID = 0

        /// Files a suspended request's continuation; returns the id to give the lifecycle.
        mutating func suspend(_ waiter: Waiter) -> Lifecycle.WaiterID {
            nextWaiterID &+= 1
            suspended[nextWaiterID] = waiter
            return nextWaiterID
        }

        /// Takes back the continuation of a suspended request.
        mutating func resume(_ id: Lifecycle.WaiterID) -> Waiter? {
            suspended.removeValue(forKey: id)
        }

        /// Where `session` is filed: under the id it was registered with, or (re-filed by another
        /// request after an id change) under its current id or an earlier one.
        func entry(of session: Session, registeredID: SessionID, currentID: SessionID) -> (key: SessionRandomKey, entry: Entry)? {
            func slot(_ id: SessionID) -> (SessionRandomKey, Entry)? {
                guard let entry = entries[id.randomKey], entry.inspect({ $0.session === session }) else { return nil }
                return (id.randomKey, entry)
            }
            if let found = slot(registeredID) { return found }
            if currentID.randomKey != registeredID.randomKey, let found = slot(currentID) { return found }
            for id in session.withState({ $0.retiredIDs }) {
                if let found = slot(id) { return found }
            }
            return nil
        }
    }

    /// Whether released sessions stay, how many, and what a full resident set does.
    let policy: SessionPolicy
    private let table: Mutex<Table>

    /// How often expired resident sessions are removed, and the least time between two removals
    /// forced by a full resident set (so a set full of live sessions is not scanned per request).
    static let sweepInterval = Duration.seconds(60)
    static let fullSweepInterval = Duration.seconds(1)

    /// Creates the table for sessions kept as `policy` says.
    init(policy: SessionPolicy) {
        self.policy = policy
        self.table = Mutex(Table(lastSweep: .now))
    }

    /// Number of sessions in use.
    var count: Int { table.withLock { $0.entries.values.count { $0.lifecycle.isActive } } }

    /// Number of resident sessions (released, kept for the next request), expired ones not yet removed included.
    var residentCount: Int { table.withLock { $0.residentCount } }

    /// Number of sessions held: in use, being loaded, or resident (expired ones not yet removed included).
    var entryCount: Int { table.withLock { $0.entries.count } }

    /// Removes the expired resident sessions now.
    func removeExpiredResidents() {
        let now = ContinuousClock.now
        table.withLock { sweep(&$0, now: now) }
    }

    // MARK: - Finding a session

    /// What ``begin(_:)`` found for an id: shared (one more reference), being loaded by another
    /// request (``wait(for:)``), or to be loaded by the caller (then ``completeLoad(_:with:)``).
    typealias Lookup = Lifecycle.ArrivalAction

    /// The first step of getting the session for `id`, without suspending. `residentIsStale`:
    /// a resident copy must not be used (sticky mode, and `id` names another app node, which
    /// served the session since this copy was released): it is dropped and the session loaded.
    /// `needsLock`: the request must hold the session locked in the store (see ``LockingMode``);
    /// if it is held here unlocked, or its locked hold is past its quantum, the request waits.
    func begin(_ id: SessionID, residentIsStale: Bool = false, needsLock: Bool = false) -> Lookup {
        let key = id.randomKey
        let now = ContinuousClock.now
        return table.withLock { table in
            guard let entry = table.entries[key] else {
                table.entries[key] = Entry(.loading(now: now))
                return .mustLoad
            }
            if entry.inspect({ $0.isResident }) {
                table.residentCount -= 1
                table.recency.remove(entry)
                if residentIsStale {
                    table.entries[key] = Entry(.loading(now: now))
                    return .mustLoad
                }
            }
            return entry.lifecycle.requestArrived(now: now, needsLock: needsLock)
        }
    }

    /// A loaded session: the instance and the store copy it was made from.
    struct Loaded {
        let session: Session
        /// What the store holds, filed under `storedID`; `nil`: the request must write it
        /// (restored from a backup, or its backup is due a refresh).
        let stored: SessionSnapshot?
        let storedID: SessionID?
        /// The store lock the loader took, held until the session leaves this node.
        var lock: SessionLock?

        init(session: Session, stored: SessionSnapshot?, storedID: SessionID?) {
            self.session = session
            self.stored = stored
            self.storedID = storedID
        }

        /// Loaded as stored, under its id.
        init(session: Session, stored: SessionSnapshot) {
            self.init(session: session, stored: stored, storedID: session.id)
        }
    }

    /// Publishes the result of a load started after ``Lookup/mustLoad`` to the requests waiting for it.
    func completeLoad(_ id: SessionID, with result: Result<Loaded?, any Error>) {
        let now = ContinuousClock.now
        let outcome: Lifecycle.LoadOutcome
        switch result {
        case .success(let loaded?): outcome = .found(loaded.session, stored: loaded.stored, id: loaded.storedID, lock: loaded.lock)
        case .success(nil): outcome = .notFound
        case .failure: outcome = .failed
        }
        let waiters: [Waiter] = table.withLock { table in
            guard let entry = table.entries[id.randomKey] else { return [] }
            let completion = entry.lifecycle.loadCompleted(outcome, now: now)
            if !completion.keepsEntry { table.entries[id.randomKey] = nil }
            return completion.waiters.compactMap { table.resume($0) }
        }
        let wake = result.map { Wake.loaded($0?.session) }
        for waiter in waiters { waiter.resume(with: wake) }
    }

    /// What ``wait(for:)`` ended with.
    enum WaitOutcome {
        /// The load finished: the session, or `nil` when the store does not know the id.
        case loaded(Session?)
        /// The load finished and every request released the session before this one queued up:
        /// look again with ``begin(_:)`` (the store has its latest state).
        case lookAgain
    }

    /// Waits for the load another request is doing (after ``Lookup/loading``).
    /// `needsLock` as in ``begin(_:residentIsStale:needsLock:)``: such a request is not handed a
    /// session held unlocked; it looks again once that hold ends.
    func wait(for id: SessionID, needsLock: Bool = false) async throws -> WaitOutcome {
        let key = id.randomKey
        let wake = try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let now: Wake? = table.withLock { table in
                guard let entry = table.entries[key] else { return .lookAgain }
                let id = table.suspend(waiter)
                let action = entry.lifecycle.waiterArrived(id, needsLock: needsLock, now: .now)
                if case .queued = action { return nil }
                _ = table.resume(id)
                if case .use(let session) = action { return .loaded(session) }
                return .lookAgain
            }
            if let now { waiter.resume(returning: now) }
        }
        if case .loaded(let session) = wake { return .loaded(session) }
        return .lookAgain
    }

    /// Registers a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) {
        let now = ContinuousClock.now
        table.withLock { $0.entries[session.id.randomKey] = Entry(.created(session, now: now)) }
    }

    /// Registers a session this request created if fewer than `limit` entries are held; checked
    /// and inserted under one lock, so concurrent creations cannot overshoot the limit.
    func register(_ session: Session, whileFewerThan limit: Int) -> Bool {
        let now = ContinuousClock.now
        return table.withLock { table in
            guard table.entries.count < limit else { return false }
            table.entries[session.id.randomKey] = Entry(.created(session, now: now))
            return true
        }
    }

    // MARK: - Writing a session

    /// What ``persistStep(_:registeredID:)`` tells the writer to do.
    enum PersistStep {
        /// Every change so far is in the store.
        case upToDate
        /// Reset the store copy's time to live.
        case touch(SessionID, ttl: Duration)
        /// Wait for the write in progress: ``waitForWrite(_:registeredID:target:)``.
        case wait(target: UInt64)
        /// The write in progress is written again when it ends, covering these changes.
        case handedToWriter
        /// The session's store lock was lost: not written (see ``SessionLifecycle/PersistAction/lockLost``).
        case lockLost
        /// Write this snapshot of generation `generation` under `id` (and release `unlock` with
        /// it), then ``writeCompleted(_:registeredID:_:)``.
        case write(SessionSnapshot, generation: UInt64, id: SessionID, previous: SessionSnapshot?, previousID: SessionID?, unlock: SessionLock? = nil)
    }

    /// Whether the store holds every change made to `session` so far and no touch is due, so a
    /// request can skip ``SessionWriter/persist(_:registeredID:)`` without suspending.
    func isUpToDate(_ session: Session, registeredID: SessionID) -> Bool {
        let status = session.status()
        let now = ContinuousClock.now
        return table.withLock { table in
            guard let (_, entry) = table.entry(of: session, registeredID: registeredID, currentID: status.id) else { return false }
            return entry.inspect { $0.isUpToDate(target: status.generation, ttl: .seconds(status.maxInactiveInterval), now: now) }
        }
    }

    /// The next step towards having every change made to `session` so far in the store.
    func persistStep(_ session: Session, registeredID: SessionID, target: UInt64? = nil, waits: Bool = true) -> PersistStep {
        let now = ContinuousClock.now
        return table.withLock { table in
            let status = session.status()
            let target = target ?? status.generation
            // Invalidated meanwhile (by a concurrent request, before a write after the response):
            // its keys are deleted, and writing it would bring it back.
            guard status.isValid else { return .upToDate }
            guard let (_, entry) = table.entry(of: session, registeredID: registeredID, currentID: status.id) else {
                // Not filed (it cannot be while a request holds it): written with nothing to
                // coordinate, and its completion finds no lifecycle to report to.
                let (snapshot, generation, id) = session.snapshot(now: Date())
                return .write(snapshot, generation: generation, id: id, previous: nil, previousID: nil)
            }
            let ttl = Duration.seconds(status.maxInactiveInterval)
            switch entry.lifecycle.persistRequested(target: target, id: status.id, ttl: ttl, now: now, waits: waits) {
            case .upToDate: return .upToDate
            case .handedToWriter: return .handedToWriter
            case .lockLost: return .lockLost
            case .touch(let id, let ttl): return .touch(id, ttl: ttl)
            case .wait: return .wait(target: target)
            case .write(let previous, let previousID, let unlock):
                // Taken under the table lock, so the generation is the one the machine now writes.
                let (snapshot, generation, id) = session.snapshot(now: Date())
                return .write(snapshot, generation: generation, id: id, previous: previous, previousID: previousID, unlock: unlock)
            }
        }
    }

    /// Waits for the write in progress on `session`; `true` when it covered generation `target`,
    /// `false` to ask again. Throws the error of a failed write that covered it.
    func waitForWrite(_ session: Session, registeredID: SessionID, target: UInt64) async throws -> Bool {
        let currentID = session.id
        let wake = try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let now: Wake? = table.withLock { table in
                guard let (_, entry) = table.entry(of: session, registeredID: registeredID, currentID: currentID) else { return .retry }
                let id = table.suspend(waiter)
                let action = entry.lifecycle.writeWaiterArrived(id, target: target)
                if action == .queued { return nil }
                _ = table.resume(id)
                return action == .covered ? .covered : .retry
            }
            if let now { waiter.resume(returning: now) }
        }
        if case .covered = wake { return true }
        return false
    }

    /// Reports a write that ``persistStep(_:registeredID:target:waits:)`` asked for and resumes the
    /// requests waiting for it. Returns `true` when the writer must write again (changes were
    /// handed to it meanwhile, see ``SessionLifecycle/PersistAction/handedToWriter``).
    @discardableResult
    func writeCompleted(_ session: Session, registeredID: SessionID, _ result: Lifecycle.WriteResult) -> Bool {
        let now = ContinuousClock.now
        let currentID = session.id
        let (wakes, writeAgain) = table.withLock { table -> ([(Waiter, Lifecycle.WriteWake)], Bool) in
            guard let (_, entry) = table.entry(of: session, registeredID: registeredID, currentID: currentID) else { return ([], false) }
            let completion = entry.lifecycle.writeCompleted(result, now: now)
            return (completion.wakes.compactMap { id, wake in table.resume(id).map { ($0, wake) } }, completion.writeAgain)
        }
        for (waiter, wake) in wakes {
            switch wake {
            case .covered: waiter.resume(returning: .covered)
            case .retry: waiter.resume(returning: .retry)
            case .failed(let error): waiter.resume(throwing: error)
            }
        }
        return writeAgain
    }

    /// A touch of `session` found no store copy: its next persist writes it.
    func storeLostCopy(_ session: Session, registeredID: SessionID) {
        let currentID = session.id
        table.withLock { table in
            table.entry(of: session, registeredID: registeredID, currentID: currentID)?.entry.lifecycle.storeLostCopy()
        }
    }

    /// The resident sessions whose latest state the store lacks (sticky writes that failed), to
    /// write again once their node answers.
    func unsavedResidents() -> [Session] {
        table.withLock { table in
            table.entries.values.compactMap { entry -> Session? in
                guard entry.inspect({ $0.isResident }), let session = entry.inspect({ $0.session }) else { return nil }
                let status = session.status()
                return status.isValid && !entry.inspect({ $0.isSaved(status) }) ? session : nil
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

    /// The ids whose store keys an invalidation of `session` must delete.
    func deleteRequested(_ session: Session, registeredID: SessionID) -> [SessionID] {
        let currentID = session.id
        let retired = session.withState { $0.retiredIDs }
        return table.withLock { table in
            guard let (_, entry) = table.entry(of: session, registeredID: registeredID, currentID: currentID) else { return retired }
            return entry.lifecycle.deleteRequested(retiredIDs: retired)
        }
    }

    // MARK: - Releasing a session

    /// A store lock to release for a session that left this node, and where its entry waits.
    struct Unlock: Sendable {
        let lock: SessionLock
        fileprivate let key: SessionRandomKey
    }

    /// Reports the release of a lock (``ReleaseOutcome/released(_:then:unlock:)``): the entry goes,
    /// and the requests that waited for it look again.
    func unlockCompleted(_ unlock: Unlock) {
        let wakes: Wakes = table.withLock { table in
            guard let entry = table.entries[unlock.key] else { return .none }
            let waiting = entry.lifecycle.unlockCompleted()
            table.entries[unlock.key] = nil
            return Wakes(waiters: waiting.compactMap { table.resume($0) })
        }
        wakes.resume()
    }

    /// Requests to resume to look again for a session (they waited for its hold to end).
    struct Wakes: Sendable {
        fileprivate var waiters: [Waiter] = []
        static let none = Wakes()

        /// Resumes them.
        func resume() {
            for waiter in waiters { waiter.resume(returning: .lookAgain) }
        }
    }

    /// What ``release(_:registeredID:ifUnsaved:)`` did.
    enum ReleaseOutcome {
        /// The reference is dropped; the session's state at that moment, the requests to resume
        /// (they waited for the hold to end), and, when the session left this node locked, its
        /// lock: release it, then report with ``unlockCompleted(_:)``.
        case released(Session.Status, then: Wakes, unlock: Unlock?)
        /// Nothing was done: this is the last reference, the resident set is full and the store
        /// lacks the session's latest state. Write it, then release again.
        case persistFirst
    }

    /// Drops one reference to `session`, which was registered under `registeredID` (`keepInMemory`:
    /// it has no store node and stays resident after its last request), and re-files
    /// it under its current id if that changed (``Session/changeSessionId()`` gives it a new random
    /// part). What happens after the last reference is the machine's decision
    /// (``SessionLifecycle/requestReleased(status:residency:ifUnsaved:now:)``).
    ///
    /// The session's state is read under the table lock: for the last reference it is final, since
    /// only requests holding a reference change a session and a new one needs this lock to get one.
    func release(
        _ session: Session,
        registeredID: SessionID,
        ifUnsaved: Lifecycle.UnsavedSession = .askToPersist,
        keepInMemory: Bool = false
    ) -> ReleaseOutcome {
        let now = ContinuousClock.now
        return table.withLock { table in
            release(session, registeredID: registeredID, ifUnsaved: ifUnsaved, keepInMemory: keepInMemory, now: now, &table)
        }
    }

    /// ``release(_:registeredID:ifUnsaved:keepInMemory:)`` under the table lock.
    private func release(
        _ session: Session,
        registeredID: SessionID,
        ifUnsaved: Lifecycle.UnsavedSession,
        keepInMemory: Bool,
        now: ContinuousClock.Instant,
        _ table: inout Table
    ) -> ReleaseOutcome {
        if policy.residentLimit > 0 || table.residentCount > 0 { sweepIfDue(&table, now: now) }
        let status = session.status()
        guard let (filedKey, entry) = table.entry(of: session, registeredID: registeredID, currentID: status.id) else {
            return .released(status, then: .none, unlock: nil)
        }
        let residency = policy.residency(residentCount: table.residentCount, mustStay: keepInMemory)
        if residency == .evictOldest && status.isValid {
            // Sticky: room is made by evicting the least recently used saved session. When
            // none is saved (the store is down), this one stays anyway: memory is its only
            // copy, and maxActiveSessions bounds the whole.
            evictLeastRecentlyUsed(&table, sparing: entry)
        }
        let action = entry.lifecycle.requestReleased(status: status, residency: residency, ifUnsaved: ifUnsaved, now: now)
        switch action {
        case .persistFirst:
            return .persistFirst
        case .remove:
            let departure = entry.lifecycle.departed()
            let wakes = Wakes(waiters: departure.wake.compactMap { table.resume($0) })
            guard let lock = departure.unlock else {
                table.entries[filedKey] = nil
                return .released(status, then: wakes, unlock: nil)
            }
            // The entry stays until the lock is released (see SessionLifecycle.Departure).
            return .released(status, then: wakes, unlock: Unlock(lock: lock, key: filedKey))
        case .stillShared, .resident:
            if case .resident = action {
                table.residentCount += 1
                table.recency.append(entry)
                // A kept session is no longer new to the requests that find it, and its last
                // access time is the end of this request.
                session.markResident()
            }
            if filedKey != status.id.randomKey {
                // Re-filed under the id it has now (changeSessionId gives a new random part).
                table.entries[filedKey] = nil
                table.entries[status.id.randomKey] = entry
            }
            return .released(status, then: .none, unlock: nil)
        }
    }

    /// Removes the expired resident sessions every ``sweepInterval``, or sooner (at most every
    /// ``fullSweepInterval``) when the resident set is full.
    private func sweepIfDue(_ table: inout Table, now: ContinuousClock.Instant) {
        let full = table.residentCount >= policy.residentLimit
        let since = now - table.lastSweep
        guard since >= Self.sweepInterval || (full && since >= Self.fullSweepInterval) else { return }
        sweep(&table, now: now)
    }

    /// Evicts the least recently used resident session whose latest state is in the store (among
    /// the oldest few: a session whose write is still under way is passed over).
    private func evictLeastRecentlyUsed(_ table: inout Table, sparing spared: Entry) {
        var candidate = table.recency.oldest
        var looked = 0
        while let entry = candidate, looked < 16 {
            candidate = entry.newer
            looked += 1
            guard entry !== spared, let session = entry.inspect({ $0.session }) else { continue }
            let status = session.status()
            guard entry.inspect({ $0.isSaved(status) }) else { continue }
            table.recency.remove(entry)
            table.entries[status.id.randomKey] = nil
            table.residentCount -= 1
            return
        }
    }

    private func sweep(_ table: inout Table, now: ContinuousClock.Instant) {
        table.entries = table.entries.filter { entry in
            guard case .resident(let expiry) = entry.value.lifecycle.phase, expiry <= now else { return true }
            table.recency.remove(entry.value)
            return false
        }
        table.residentCount = table.entries.values.count { $0.lifecycle.isResident }
        table.lastSweep = now
    }
}
