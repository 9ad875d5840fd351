/// The life of one session on this node, from the first request that asks for it to the last one
/// that releases it (or, for a resident session, until it expires), as a pure state machine.
///
/// Every decision about a session that concurrent requests share is taken here, and only here:
/// who loads it and who waits for the load, who writes it and who waits for that write, whether
/// it stays resident after its last request, what an invalidation deletes. The machine does no
/// I/O, takes no lock and never calls into the ``Session``: events come in as method calls with
/// what the caller read (the session's status, the time), and each returns an **action** that
/// ``ActiveSessions`` (under its table lock) and ``SessionWriter`` / ``RequestSessions`` (the
/// asynchronous part) carry out. That keeps the interleavings that once lost updates (a copy
/// loaded beside a shared instance, a write decided on a stale generation) testable one event at a
/// time, without a store (`SessionLifecycleTests`).
///
/// Suspended requests appear as ``WaiterID``s: the caller keeps what resumes them (continuations),
/// so the machine is a plain value with nothing generic to instantiate on the hot path.
struct SessionLifecycle {
    /// Names a request suspended until a load or a write ends (its continuation is the caller's).
    typealias WaiterID = Int

    /// Where the session is in its life on this node (the instance is ``session``, set in the
    /// active and resident phases; kept beside the phase, not in it, so that finding out which
    /// session an entry holds reads one reference instead of copying an enum with payloads).
    enum Phase {
        /// One request is loading it from the store; these requests wait for the result (`needsLock`:
        /// the request must hold the session locked, see ``lockedHold``).
        case loading([(waiter: WaiterID, needsLock: Bool)])
        /// In use by `references` requests, which share the instance.
        case active(references: Int)
        /// Released by every request and kept for the next one until `expiry` (residency).
        case resident(expiry: ContinuousClock.Instant)
    }

    /// What the store holds of the session, and the write in progress.
    ///
    /// Concurrent requests share one instance; when several finish at once, one writes at a time,
    /// and a write covers every change made before it started (its *generation*). The others wait
    /// for a write that covers their own changes instead of each writing a copy that might land
    /// out of order and lose an update.
    struct Persistence {
        /// What the store holds (as of the last successful write or the load); `nil`: nothing yet.
        var stored: SessionSnapshot?
        /// The id the stored copy is filed under.
        var storedID: SessionID?
        /// The highest session generation known to be in the store.
        var storedGeneration: UInt64 = 0
        /// Whether a request is writing now.
        var writing = false
        /// Requests waiting for a write that covers `generation`.
        var writeWaiters: [(generation: UInt64, waiter: WaiterID)] = []
        /// Set once the session was deleted from the store (invalidated).
        var deleted = false
        /// A request handed its changes to the write under way instead of waiting for it
        /// (``persistRequested(target:id:ttl:now:waits:)`` with `waits` false): when that write
        /// ends, its writer writes again, covering every change made meanwhile in one write.
        var rewriteRequested = false
        /// When the store's time to live was last reset (load, write or touch). Requests that
        /// share the instance do not read the store, so without a touch now and then a session
        /// kept busy by overlapping requests could expire in the store while in use.
        var lastTouched: ContinuousClock.Instant
    }

    /// The store lock this node holds for the session (non-sticky locking, see ``LockingMode``):
    /// taken by the request that loaded it, shared by every request that joins, released when the
    /// last one lets go.
    struct LockedHold: Equatable {
        var lock: SessionLock
        /// When the lock was taken: a hold older than ``holdQuantum`` admits no new request, so
        /// another node waiting for the lock gets its turn.
        let acquired: ContinuousClock.Instant
        /// When it was taken or last extended.
        var renewed: ContinuousClock.Instant
        /// A renewal found it gone (expired, taken by another node): the session is not written.
        var lost = false
        /// The last request's write releases it, pipelined behind the write (one round trip
        /// saved); no request joins meanwhile.
        var releasingWithWrite = false
    }

    private(set) var phase: Phase
    /// The instance, once loaded (`nil` only while loading).
    private(set) var session: Session?
    private(set) var persistence: Persistence
    /// The lock held for the session on this node, if any.
    private(set) var lockedHold: LockedHold?
    /// Requests that may not join the session as it is held now (they must lock it and it is held
    /// unlocked, or the locked hold is older than ``holdQuantum``): woken to look again once the
    /// last request lets it go.
    private(set) var releaseWaiters: [WaiterID] = []

    /// How long a locked hold admits new requests of this node. Requests of one node share the
    /// locked session, so a node with steady traffic on a session would otherwise keep its lock for
    /// good and another node's requests would only ever time out; past this, new arrivals wait
    /// until the hold ends and then compete for the lock like everyone else.
    static let holdQuantum = Duration.milliseconds(50)

    /// A session nobody on this node has: the first request loads it.
    static func loading(now: ContinuousClock.Instant) -> Self {
        Self(phase: .loading([]), session: nil, persistence: Persistence(lastTouched: now))
    }

    /// A session the request that holds it has just created: nothing in the store yet.
    static func created(_ session: Session, now: ContinuousClock.Instant) -> Self {
        Self(phase: .active(references: 1), session: session, persistence: Persistence(lastTouched: now))
    }

    var isResident: Bool {
        if case .resident = phase { true } else { false }
    }

    var isActive: Bool {
        if case .active = phase { true } else { false }
    }

    // MARK: - A request asks for the session

    /// What a request that asks for the session does.
    enum ArrivalAction {
        /// Use this instance, shared with the requests that have it (one more reference taken).
        case shared(Session)
        /// Another request is loading it: wait (``waiterArrived(_:)``).
        case loading
        /// Load it from the store, then report with ``loadCompleted(_:now:)``.
        case mustLoad
    }

    /// Whether a request arriving now must wait for the current hold to end instead of joining it:
    /// it must lock and the session is held unlocked, or the locked hold is past its quantum.
    private func mustWaitForRelease(needsLock: Bool, now: ContinuousClock.Instant) -> Bool {
        guard isActive else { return false }
        guard let hold = lockedHold else { return needsLock }
        return hold.releasingWithWrite || now - hold.acquired > Self.holdQuantum
    }

    /// A request asks for the session (`needsLock`: it must hold it locked).
    mutating func requestArrived(now: ContinuousClock.Instant, needsLock: Bool = false) -> ArrivalAction {
        if mustWaitForRelease(needsLock: needsLock, now: now) { return .loading }
        switch (phase, session) {
        case (.active(let references), let session?):
            phase = .active(references: references + 1)
            return .shared(session)
        case (.resident(let expiry), let session?):
            if expiry > now {
                phase = .active(references: 1)
                return .shared(session)
            }
            // Idle for longer than its timeout: the store copy has expired as well (it was last
            // written or touched before the release), so the load finds nothing.
            self = .loading(now: now)
            return .mustLoad
        default:
            return .loading
        }
    }

    /// What a request told to wait does.
    enum WaitAction {
        /// Queued: it is resumed when the load completes.
        case queued
        /// The load completed before the request queued: use this instance (one more reference).
        case use(Session)
        /// The load completed and every request released the session before this one queued:
        /// ask again with ``requestArrived(now:)`` (answering "not found" here would make the
        /// caller start a new session and lose the client's).
        case askAgain
    }

    /// A request told to ``ArrivalAction/wait`` queues up.
    mutating func waiterArrived(_ waiter: WaiterID, needsLock: Bool = false, now: ContinuousClock.Instant = .now) -> WaitAction {
        if mustWaitForRelease(needsLock: needsLock, now: now) {
            releaseWaiters.append(waiter)
            return .queued
        }
        switch (phase, session) {
        case (.active(let references), let session?):
            phase = .active(references: references + 1)
            return .use(session)
        case (.loading(var waiters), _):
            waiters.append((waiter, needsLock))
            phase = .loading(waiters)
            return .queued
        default:
            return .askAgain
        }
    }

    /// How a load ended.
    enum LoadOutcome {
        /// The store had it: the instance, the copy it was made from, and the lock the loader took.
        case found(Session, stored: SessionSnapshot?, id: SessionID?, lock: SessionLock? = nil)
        /// The store does not know the id (or its copy was unreadable).
        case notFound
        /// The store could not be asked.
        case failed
    }

    /// What follows a load.
    struct LoadCompletion {
        /// The requests to resume: they share the instance (their references are taken), or get
        /// the loader's "not found" or error. Requests that must lock a session loaded unlocked
        /// are not among them: they wait for the hold to end (``releaseWaiters``).
        var waiters: [WaiterID]
        /// `false`: the session is not on this node; the entry goes.
        var keepsEntry: Bool
    }

    /// The request that was told to ``ArrivalAction/load`` reports how it went.
    mutating func loadCompleted(_ outcome: LoadOutcome, now: ContinuousClock.Instant) -> LoadCompletion {
        guard case .loading(let waiting) = phase else { return LoadCompletion(waiters: [], keepsEntry: true) }
        guard case .found(let session, let stored, let id, let lock) = outcome else {
            return LoadCompletion(waiters: waiting.map(\.waiter), keepsEntry: false)
        }
        let joining = lock == nil ? waiting.filter { !$0.needsLock } : waiting
        releaseWaiters += waiting.filter { lock == nil && $0.needsLock }.map(\.waiter)
        phase = .active(references: 1 + joining.count)
        self.session = session
        persistence = Persistence(stored: stored, storedID: id, lastTouched: now)
        lockedHold = lock.map { LockedHold(lock: $0, acquired: now, renewed: now) }
        return LoadCompletion(waiters: joining.map(\.waiter), keepsEntry: true)
    }

    // MARK: - A request makes sure the store has its changes

    /// What a request that wants its changes in the store does.
    enum PersistAction: Equatable {
        /// The store has them; nothing to do.
        case upToDate
        /// The store has them, but a quarter of the time to live passed since the store copy was
        /// last read, written or touched: reset its time to live.
        case touch(SessionID, ttl: Duration)
        /// Another request is writing: wait for it (``writeWaiterArrived(_:target:)``).
        case wait
        /// Another request is writing, and this one does not wait: that writer writes again once
        /// its write ends (``writeCompleted(_:now:)`` says so), covering these changes.
        case handedToWriter
        /// The session's store lock was lost (a renewal failed, or it outlived its expiration): another
        /// node may have written a newer session, which this write would overwrite. Not written.
        case lockLost
        /// Write it (the caller takes the snapshot now, under the same lock), then report with
        /// ``writeCompleted(_:now:)``. `previous`: what the store holds, so an unchanged copy under
        /// the same id is not written again, and a copy under an older id is deleted. `unlock`:
        /// the writer is the session's last request on this node and holds its lock: the write
        /// releases it (pipelined behind the write, or alone when nothing needs writing).
        case write(previous: SessionSnapshot?, previousID: SessionID?, unlock: SessionLock? = nil)
    }

    /// Whether the store holds generation `target` and no touch is due: ``persistRequested(target:id:ttl:now:)``
    /// would answer ``PersistAction/upToDate``, so a request can skip it without suspending.
    func isUpToDate(target: UInt64, ttl: Duration, now: ContinuousClock.Instant) -> Bool {
        persistence.stored != nil && persistence.storedGeneration >= target && !touchIsDue(ttl: ttl, now: now)
    }

    /// A request wants generation `target` of the session in the store (its current id `id`, its
    /// time to live `ttl`). `waits`: whether it waits for a write under way (a request answered
    /// only once its changes are stored), or hands its changes to that write's writer (sticky
    /// mode, after the response: many changes to one busy session become a few writes).
    mutating func persistRequested(
        target: UInt64,
        id: SessionID,
        ttl: Duration,
        now: ContinuousClock.Instant,
        waits: Bool = true
    ) -> PersistAction {
        if persistence.stored != nil && persistence.storedGeneration >= target {
            guard touchIsDue(ttl: ttl, now: now) else { return .upToDate }
            if lockIsLost(now: now) { return .lockLost }
            persistence.lastTouched = now
            return .touch(id, ttl: ttl)
        }
        if persistence.writing {
            guard waits else {
                persistence.rewriteRequested = true
                return .handedToWriter
            }
            return .wait
        }
        if lockIsLost(now: now) { return .lockLost }
        persistence.writing = true
        if case .active(references: 1) = phase, var hold = lockedHold {
            hold.releasingWithWrite = true
            lockedHold = hold
            return .write(previous: persistence.stored, previousID: persistence.storedID, unlock: hold.lock)
        }
        return .write(previous: persistence.stored, previousID: persistence.storedID)
    }

    // MARK: - The store lock

    /// The lock is lost, or it was last taken or extended a whole expiration ago (the
    /// process was stopped, the renewals failed to run): it may have expired in the store.
    private func lockIsLost(now: ContinuousClock.Instant) -> Bool {
        guard let hold = lockedHold else { return false }
        return hold.lost || now - hold.renewed >= hold.lock.ttl
    }

    /// The lock to extend, if one is held and half of its expiration passed since it was taken
    /// or last extended.
    func lockRenewalDue(now: ContinuousClock.Instant) -> SessionLock? {
        guard let hold = lockedHold, !hold.lost, now - hold.renewed >= hold.lock.ttl / 2 else { return nil }
        return hold.lock
    }

    /// A renewal of `lock` ended: `renewed` is the lock as it now is in the store, or `nil` when
    /// the store no longer had it as ours (lost). A renewal of a lock no longer held is ignored.
    /// Returns `true` when this made the hold lost.
    mutating func lockRenewed(_ lock: SessionLock, as renewed: SessionLock?, startedAt: ContinuousClock.Instant) -> Bool {
        guard var hold = lockedHold, hold.lock.lock.token == lock.lock.token, !hold.lost else { return false }
        if let renewed {
            hold.lock = renewed
            hold.renewed = startedAt
        } else {
            hold.lost = true
        }
        lockedHold = hold
        return renewed == nil
    }

    /// What follows the departure of the session from this node (the last request let it go).
    struct Departure: Equatable {
        /// The lock to release in the store. While it is released the entry stays, as an empty
        /// load that every request for the session waits on (a request that found no entry would
        /// try to lock, find the lock still taken and back off 10 ms); ``unlockCompleted()`` ends it.
        var unlock: SessionLock?
        /// The requests to wake now (they look again); with a lock to release, none: they wake
        /// once it is released.
        var wake: [WaiterID]
    }

    /// Its last request released the session: the lock to release and the requests to wake.
    mutating func departed() -> Departure {
        let waiting = releaseWaiters
        releaseWaiters = []
        guard let hold = lockedHold, !hold.lost else {
            lockedHold = nil
            return Departure(unlock: nil, wake: waiting)
        }
        lockedHold = nil
        session = nil
        phase = .loading(waiting.map { ($0, true) })
        return Departure(unlock: hold.lock, wake: [])
    }

    /// The lock a departure asked to release is released (or its release failed: it expires):
    /// the entry goes, and the requests that waited look again.
    func unlockCompleted() -> [WaiterID] {
        guard case .loading(let waiting) = phase else { return [] }
        return waiting.map(\.waiter)
    }

    private func touchIsDue(ttl: Duration, now: ContinuousClock.Instant) -> Bool {
        persistence.stored != nil && !persistence.deleted && now - persistence.lastTouched > ttl.quarter
    }

    /// How a request waiting for another's write is resumed.
    enum WriteWake {
        /// The write covered its changes.
        case covered
        /// The write covered older changes only: ask again (``persistRequested(target:id:ttl:now:)``).
        case retry
        /// The write that covered its changes failed.
        case failed(any Error)
    }

    /// What a request told to ``PersistAction/wait`` does.
    enum WriteWaitAction: Equatable {
        /// Queued: resumed by the end of the write in progress.
        case queued
        /// The write finished meanwhile and covered its changes.
        case covered
        /// The write finished meanwhile without covering them: ask again.
        case retry
    }

    /// A request told to ``PersistAction/wait`` queues up for generation `target`.
    mutating func writeWaiterArrived(_ waiter: WaiterID, target: UInt64) -> WriteWaitAction {
        if persistence.stored != nil && persistence.storedGeneration >= target { return .covered }
        guard persistence.writing else { return .retry }
        persistence.writeWaiters.append((target, waiter))
        return .queued
    }

    /// A write the machine asked for, as it went.
    struct WriteResult {
        /// The generation of the snapshot written.
        var generation: UInt64
        /// What was written (after the attribute filter).
        var snapshot: SessionSnapshot
        /// The id it was written under.
        var id: SessionID
        /// `nil`: written.
        var failure: (any Error)?
    }

    /// What follows a write.
    struct WriteCompletion {
        /// The waiting requests to resume, and how.
        var wakes: [(WaiterID, WriteWake)]
        /// Changes were handed to this write while it was under way (``PersistAction/handedToWriter``)
        /// and it succeeded: its writer asks again (``persistRequested(target:id:ttl:now:waits:)``
        /// for the session's current generation). After a failure they are not written now: the
        /// node does not answer, and the next request or a later retry writes them.
        var writeAgain: Bool
    }

    /// The request told to ``PersistAction/write(previous:previousID:)`` reports the write.
    mutating func writeCompleted(_ result: WriteResult, now: ContinuousClock.Instant) -> WriteCompletion {
        persistence.writing = false
        if var hold = lockedHold, hold.releasingWithWrite {
            // Written: the lock went with it. Failed: the departure releases it (best effort).
            hold.releasingWithWrite = false
            lockedHold = result.failure == nil ? nil : hold
        }
        let writeAgain = persistence.rewriteRequested && result.failure == nil
        persistence.rewriteRequested = false
        if result.failure == nil {
            persistence.lastTouched = now
            persistence.stored = result.snapshot
            persistence.storedID = result.id
            persistence.storedGeneration = result.generation
        }
        let waiters = persistence.writeWaiters
        persistence.writeWaiters.removeAll()
        let wakes = waiters.map { generation, waiter -> (WaiterID, WriteWake) in
            guard generation <= result.generation else { return (waiter, .retry) }
            return (waiter, result.failure.map { .failed($0) } ?? .covered)
        }
        return WriteCompletion(wakes: wakes, writeAgain: writeAgain)
    }

    /// Whether the store holds the session's latest state (`status`, read by the caller) under its
    /// current id, with no write under way: a resident session that may leave memory.
    func isSaved(_ status: Session.Status) -> Bool {
        persistence.stored != nil && !persistence.deleted && !persistence.writing
            && persistence.storedID == status.id && persistence.storedGeneration >= status.generation
    }

    /// A touch found no copy in the store (it restarted empty, or evicted it): the next
    /// ``persistRequested(target:id:ttl:now:)`` writes the session again.
    mutating func storeLostCopy() {
        persistence.stored = nil
        persistence.storedGeneration = 0
    }

    // MARK: - Invalidation

    /// The session was invalidated: the ids whose keys to delete (the stored copy's, the first time
    /// only, and every id the session had before an id change).
    mutating func deleteRequested(retiredIDs: [SessionID]) -> [SessionID] {
        var ids = retiredIDs
        if !persistence.deleted, let stored = persistence.storedID, !ids.contains(stored) { ids.append(stored) }
        persistence.deleted = true
        return ids
    }

    // MARK: - A request releases the session

    /// Whether a released session may stay in memory.
    enum Residency {
        /// Residency is off: the store is the only copy between requests.
        case off
        /// There is room in the resident set.
        case room
        /// The resident set is full.
        case full
        /// The resident set is full, and room was made for this one (sticky: the least recently
        /// used saved session was evicted, or none could be and memory is this one's only copy).
        case evictOldest
    }

    /// What to do with a session that cannot stay resident and whose latest state is not in the store.
    enum UnsavedSession {
        /// Answer ``ReleaseAction/persistFirst``.
        case askToPersist
        /// Remove it (its write was tried and refused): the store's copy, if any, is what remains.
        case drop
    }

    /// What releasing a reference does.
    enum ReleaseAction: Equatable {
        /// Other requests still hold it.
        case stillShared
        /// It stays in memory, resident, until `expiry`.
        case resident(expiry: ContinuousClock.Instant)
        /// The entry goes: the store holds what remains of the session.
        case remove
        /// Nothing was done: this is the last reference, the resident set is full and the store
        /// lacks the session's latest state. Write it, then release again.
        case persistFirst
    }

    /// A request drops its reference. `status` is the session's state read under the caller's
    /// lock: for the last reference it is final, since only requests holding a reference change a
    /// session and a new one needs that lock to get one.
    mutating func requestReleased(
        status: Session.Status,
        residency: Residency,
        ifUnsaved: UnsavedSession,
        now: ContinuousClock.Instant
    ) -> ReleaseAction {
        guard case .active(let references) = phase else { return .stillShared }
        if references > 1 {
            phase = .active(references: references - 1)
            return .stillShared
        }
        guard status.isValid, residency != .off else { return .remove }
        if residency == .room || residency == .evictOldest {
            let expiry = now + .seconds(status.maxInactiveInterval)
            phase = .resident(expiry: expiry)
            return .resident(expiry: expiry)
        }
        return !isSaved(status) && ifUnsaved == .askToPersist ? .persistFirst : .remove
    }
}
