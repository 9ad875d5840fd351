/// The life of one session on this node, from the first request that asks for it to the last one
/// that releases it (or, for a resident session, until it expires or is evicted), as a pure state
/// machine: the only place where a decision about a session's life is taken.
///
/// Events come in as method calls carrying facts (what a load found and where, how a write went
/// and whether its node is down, the session's state as the caller read it, the time), and each
/// returns an **action** carrying everything the executor needs (load, write this snapshot under
/// this id and delete that one, touch, wait, wake these requests, relocate, take over, stay
/// resident, leave). The machine does no I/O, takes no lock, reads no clock and never calls into
/// the ``Session``. Around it:
/// - ``SessionPolicy``: the context's mode, computed once;
/// - ``SessionTable``: stores the machines, the waiters and the recency list, and applies actions
///   under its lock;
/// - ``SessionExecutor``: performs the actions against the store nodes and reports the outcomes;
/// - ``RequestSessions``: one request's driver.
///
/// The decisions that need no per-session state (what a load's result means, where a session
/// goes before its write, when a request's changes are written) are static functions of this
/// type, in `SessionLifecycle+Decisions.swift`. `SessionLifecycleTests` drive every interleaving
/// one event at a time, without a store.
///
/// Suspended requests appear as ``WaiterID``s: the table keeps what resumes them (continuations),
/// so the machine is a plain value with nothing generic to instantiate on the hot path.
struct SessionLifecycle {
    /// Names a request suspended until a load or a write ends (its continuation is the table's).
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
        /// Set once the session was deleted from the store (invalidated): it is never written again.
        var deleted = false
        /// A request handed its changes to the write under way instead of waiting for it
        /// (``persistRequested(_:target:now:waits:)`` with `waits` false): when that write ends,
        /// its writer writes again, covering every change made meanwhile in one write.
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

    /// What a suspended request is resumed with.
    enum Wake {
        /// The load it waited for ended: the session (a reference taken for it), or `nil` when
        /// the store does not know the id.
        case loaded(Session?)
        /// Look for the session again: the hold it waited for ended, or the session was loaded,
        /// used and released before it queued (the store has its latest state).
        case lookAgain
        /// The write it waited for covered its changes.
        case covered
        /// The write it waited for covered older changes only: ask again.
        case retry
        /// The load or the write it waited for failed.
        case failed(any Error)
    }

    // MARK: - A request asks for the session

    /// What a request that asks for the session does.
    enum ArrivalAction {
        /// Use this instance, shared with the requests that have it (one more reference taken).
        case shared(Session)
        /// Another request is loading it, or holds it in a way this one may not join: wait
        /// (``waiterArrived(_:needsLock:now:)``).
        case wait
        /// Load it from the store, then report with ``loadCompleted(_:now:)``.
        case load
    }

    /// Whether a request arriving now must wait for the current hold to end instead of joining it:
    /// it must lock and the session is held unlocked, or the locked hold is past its quantum.
    private func mustWaitForRelease(needsLock: Bool, now: ContinuousClock.Instant) -> Bool {
        guard isActive else { return false }
        guard let hold = lockedHold else { return needsLock }
        return hold.releasingWithWrite || now - hold.acquired > Self.holdQuantum
    }

    /// A request asks for the session. `needsLock`: it must hold it locked. `namesAnotherAppNode`:
    /// sticky mode, and the id the request came with does not carry this process's route, so
    /// another app node may have served the session since a resident copy here was released.
    mutating func requestArrived(now: ContinuousClock.Instant, needsLock: Bool = false, namesAnotherAppNode: Bool = false) -> ArrivalAction {
        if mustWaitForRelease(needsLock: needsLock, now: now) { return .wait }
        switch (phase, session) {
        case (.active(let references), let session?):
            phase = .active(references: references + 1)
            return .shared(session)
        case (.resident(let expiry), let session?):
            if expiry > now && !namesAnotherAppNode {
                phase = .active(references: 1)
                return .shared(session)
            }
            // Idle for longer than its timeout (the store copy has expired as well: it was last
            // written or touched before the release, so the load finds nothing), or possibly
            // stale: loaded again (and, when stale, taken over).
            self = .loading(now: now)
            return .load
        default:
            return .wait
        }
    }

    /// A request told to ``ArrivalAction/wait`` queues up: `nil` when it is queued (resumed by
    /// the end of the load or of the hold), or what it does at once: ``Wake/loaded(_:)`` (the
    /// load completed before it queued: one more reference taken), ``Wake/lookAgain`` (the load
    /// completed and every request released the session before it queued: answering "not found"
    /// would make the caller start a new session and lose the client's).
    mutating func waiterArrived(_ waiter: WaiterID, needsLock: Bool = false, now: ContinuousClock.Instant) -> Wake? {
        if mustWaitForRelease(needsLock: needsLock, now: now) {
            releaseWaiters.append(waiter)
            return nil
        }
        switch (phase, session) {
        case (.active(let references), let session?):
            phase = .active(references: references + 1)
            return .loaded(session)
        case (.loading(var waiters), _):
            waiters.append((waiter, needsLock))
            phase = .loading(waiters)
            return nil
        default:
            return .lookAgain
        }
    }

    /// How a load ended.
    enum LoadOutcome {
        /// The store had it: the instance, the copy it was made from and the id that copy is filed
        /// under (`nil`: the request must write it), and the lock the loader took.
        case found(Session, stored: SessionSnapshot?, id: SessionID?, lock: SessionLock? = nil)
        /// The store does not know the id (or its copy was unreadable).
        case notFound
        /// The store could not be asked.
        case failed(any Error)
    }

    /// What follows a load.
    struct LoadCompletion {
        /// The requests to resume and with what: they share the instance (their references are
        /// taken), or get the loader's "not found" or error. Requests that must lock a session
        /// loaded unlocked are not among them: they wait for the hold to end (``releaseWaiters``).
        var wakes: [(WaiterID, Wake)]
        /// `false`: the session is not on this node; the entry goes.
        var keepsEntry: Bool
    }

    /// The request that was told to ``ArrivalAction/load`` reports how it went.
    mutating func loadCompleted(_ outcome: LoadOutcome, now: ContinuousClock.Instant) -> LoadCompletion {
        guard case .loading(let waiting) = phase else { return LoadCompletion(wakes: [], keepsEntry: true) }
        switch outcome {
        case .notFound:
            return LoadCompletion(wakes: waiting.map { ($0.waiter, .loaded(nil)) }, keepsEntry: false)
        case .failed(let error):
            return LoadCompletion(wakes: waiting.map { ($0.waiter, .failed(error)) }, keepsEntry: false)
        case .found(let session, let stored, let id, let lock):
            let joining = lock == nil ? waiting.filter { !$0.needsLock } : waiting
            releaseWaiters += waiting.filter { lock == nil && $0.needsLock }.map(\.waiter)
            phase = .active(references: 1 + joining.count)
            self.session = session
            persistence = Persistence(stored: stored, storedID: id, lastTouched: now)
            lockedHold = lock.map { LockedHold(lock: $0, acquired: now, renewed: now) }
            return LoadCompletion(wakes: joining.map { ($0.waiter, .loaded(session)) }, keepsEntry: true)
        }
    }

    // MARK: - A request makes sure the store has its changes

    /// A write the machine asks for: everything the executor needs.
    struct Write: Equatable {
        /// What to write (before the attribute filter), and the session generation it reflects.
        var snapshot: SessionSnapshot
        var generation: UInt64
        /// The id to write it under.
        var id: SessionID
        /// The copy's time to live: the idle timeout, or the remaining lifetime when shorter.
        var ttl: Duration
        /// The session is logged in (``Session/Capture/loggedIn``).
        var loggedIn = false
        /// What the store holds, so an unchanged copy under the same id is not written again.
        var previous: SessionSnapshot?
        /// The id the store's copy is filed under: deleted once written under another id.
        var previousID: SessionID?
        /// The writer is the session's last request on this node and holds its lock: the write
        /// releases it (pipelined behind the write, or alone when nothing needs writing).
        var unlock: SessionLock?
    }

    /// What a request that wants its changes in the store does.
    enum PersistAction: Equatable {
        /// The store has them (or the session was invalidated: its keys are deleted, and writing
        /// it would bring it back); nothing to do.
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
        /// Write, then report with ``writeCompleted(_:now:)``.
        case write(Write)
    }

    /// Whether the store holds generation `target` and no touch is due: ``persistRequested(_:target:now:waits:)``
    /// would answer ``PersistAction/upToDate``, so a request can skip it without suspending.
    func isUpToDate(target: UInt64, ttl: Duration, now: ContinuousClock.Instant) -> Bool {
        persistence.stored != nil && persistence.storedGeneration >= target && !touchIsDue(ttl: ttl, now: now)
    }

    /// A request wants its changes (generation `target`, or all of `capture`'s) in the store;
    /// `capture` is the session as the caller read it just before. `waits`: whether it waits for
    /// a write under way (a request answered only once its changes are stored), or hands its
    /// changes to that write's writer (sticky mode, after the response: many changes to one busy
    /// session become a few writes).
    ///
    /// This is where the machine decides whether the session is written.
    mutating func persistRequested(
        _ capture: Session.Capture,
        target: UInt64? = nil,
        now: ContinuousClock.Instant,
        waits: Bool = true
    ) -> PersistAction {
        guard capture.isValid && !persistence.deleted else { return .upToDate }
        let target = target ?? capture.generation
        let ttl = capture.ttl
        if persistence.stored != nil && persistence.storedGeneration >= target {
            guard touchIsDue(ttl: ttl, now: now) else { return .upToDate }
            if lockIsLost(now: now) { return .lockLost }
            persistence.lastTouched = now
            return .touch(capture.id, ttl: ttl)
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
        var write = Write(
            snapshot: capture.snapshot,
            generation: capture.generation,
            id: capture.id,
            ttl: capture.ttl,
            loggedIn: capture.loggedIn,
            previous: persistence.stored,
            previousID: persistence.storedID
        )
        if case .active(references: 1) = phase, var hold = lockedHold {
            hold.releasingWithWrite = true
            lockedHold = hold
            write.unlock = hold.lock
        }
        return .write(write)
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

    /// A request told to ``PersistAction/wait`` queues up for generation `target`: `nil` when
    /// queued (resumed by the end of the write in progress), ``Wake/covered`` when the write
    /// finished meanwhile and covered its changes, ``Wake/retry`` when it finished without.
    mutating func writeWaiterArrived(_ waiter: WaiterID, target: UInt64) -> Wake? {
        if persistence.stored != nil && persistence.storedGeneration >= target { return .covered }
        guard persistence.writing else { return .retry }
        persistence.writeWaiters.append((target, waiter))
        return nil
    }

    /// Why a write failed, as the executor found it.
    struct WriteFailure {
        let error: any Error
        /// The session's node did not answer (unreachable, timed out: it is marked down), as
        /// opposed to a refusal, a lost lock or a session too large.
        let nodeIsDown: Bool
        /// An available node the session could move to (`nil`: none, or nodes have no ids).
        let available: String?
        /// How many times this writer already moved the session after a failed write.
        let relocations: Int
    }

    /// A write the machine asked for, as it went.
    struct WriteResult {
        /// The write (the snapshot after the attribute filter).
        var write: Write
        /// `nil`: written.
        var failure: WriteFailure?
    }

    /// What the writer does after its write.
    enum AfterWrite: Equatable {
        /// Nothing more.
        case done
        /// Changes were handed to this write while it was under way
        /// (``PersistAction/handedToWriter``) and it succeeded: ask again
        /// (``persistRequested(_:target:now:waits:)``) for the session's current generation.
        /// After a failure they are not written now: the node does not answer, and the next
        /// request or a later retry writes them.
        case writeAgain
        /// The session's node stopped answering between its read and its write (it died under the
        /// request): the session moves to `node`, as a read would move it (same random part, a
        /// new cookie), and is written there; the old copies are deleted best effort. Once per
        /// writer.
        case moveAndWriteAgain(toStoreNode: String)
    }

    /// What follows a write.
    struct WriteCompletion {
        /// The waiting requests to resume, and how.
        var wakes: [(WaiterID, Wake)]
        var next: AfterWrite
        /// The session was invalidated while the write was under way: the copy just written
        /// must be deleted as well (the invalidation's delete may have reached the store first).
        var deleteWritten: SessionID?
    }

    /// The request told to ``PersistAction/write(_:)`` reports the write.
    mutating func writeCompleted(_ result: WriteResult, now: ContinuousClock.Instant) -> WriteCompletion {
        persistence.writing = false
        let written = result.failure == nil
        if var hold = lockedHold, hold.releasingWithWrite {
            // Written: the lock went with it. Failed: the departure releases it (best effort).
            hold.releasingWithWrite = false
            lockedHold = written ? nil : hold
        }
        let rewrite = persistence.rewriteRequested
        persistence.rewriteRequested = false
        if written {
            persistence.lastTouched = now
            persistence.stored = result.write.snapshot
            persistence.storedID = result.write.id
            persistence.storedGeneration = result.write.generation
        }
        let waiters = persistence.writeWaiters
        persistence.writeWaiters.removeAll()
        let wakes = waiters.map { generation, waiter -> (WaiterID, Wake) in
            guard generation <= result.write.generation else { return (waiter, .retry) }
            return (waiter, result.failure.map { .failed($0.error) } ?? .covered)
        }
        var next = AfterWrite.done
        if let failure = result.failure {
            if failure.nodeIsDown, failure.relocations < 1, let node = failure.available, !persistence.deleted {
                next = .moveAndWriteAgain(toStoreNode: node)
            }
        } else if rewrite && !persistence.deleted {
            next = .writeAgain
        }
        let deleteWritten = written && persistence.deleted ? result.write.id : nil
        return WriteCompletion(wakes: wakes, next: next, deleteWritten: deleteWritten)
    }

    /// Whether the store holds the session's latest state (`status`, read by the caller) under its
    /// current id, with no write under way: a resident session that may leave memory.
    func isSaved(_ status: Session.Status) -> Bool {
        persistence.stored != nil && !persistence.deleted && !persistence.writing
            && persistence.storedID == status.id && persistence.storedGeneration >= status.generation
    }

    /// Whether a resident session has been idle for longer than its timeout: it may leave memory
    /// whatever the store holds (the store's copy has expired too).
    func isExpired(now: ContinuousClock.Instant) -> Bool {
        if case .resident(let expiry) = phase { expiry <= now } else { false }
    }

    /// A touch found no copy in the store (it restarted empty, or evicted it): the next
    /// ``persistRequested(_:target:now:waits:)`` writes the session again.
    mutating func storeLostCopy() {
        persistence.stored = nil
        persistence.storedGeneration = 0
    }

    // MARK: - Invalidation

    /// The session was invalidated: the ids whose keys to delete (the stored copy's, the first time
    /// only, and every id the session had before an id change). A write under way when this
    /// happens deletes its copy once written (``WriteCompletion/deleteWritten``), and no write
    /// follows.
    mutating func deleteRequested(retiredIDs: [SessionID]) -> [SessionID] {
        var ids = retiredIDs
        if !persistence.deleted, let stored = persistence.storedID, !ids.contains(stored) { ids.append(stored) }
        persistence.deleted = true
        return ids
    }

    /// What ``invalidatedElsewhere()`` decided for this node's copy.
    enum InvalidatedElsewhere: Equatable {
        /// Resident: it leaves memory now.
        case leave
        /// In use: it stays until its requests release it; they find it invalid and write nothing.
        case staysUntilReleased
    }

    /// The session was invalidated by principal on another node (a notice, a revalidation, or a
    /// write that found its tombstone): its store copies are already deleted, so this node never
    /// writes it again, and a resident copy leaves memory.
    mutating func invalidatedElsewhere() -> InvalidatedElsewhere {
        persistence.deleted = true
        return isResident ? .leave : .staysUntilReleased
    }

    // MARK: - A request releases the session

    /// Whether a released session may stay in memory (``SessionPolicy/residency(residentCount:mustStay:)``).
    enum Residency {
        /// Residency is off: the store is the only copy between requests.
        case off
        /// There is room in the resident set.
        case room
        /// The resident set is full.
        case full
        /// The resident set is full and no saved session could leave to make room, but this one
        /// stays anyway (sticky: memory holds its primary copy, and `maxActiveSessions` bounds
        /// the whole).
        case keptBeyondLimit
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

    /// A request drops its reference. `status` is the session's state read under the table's
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
        if residency == .room || residency == .keptBeyondLimit {
            let expiry = now + status.ttl
            phase = .resident(expiry: expiry)
            return .resident(expiry: expiry)
        }
        return !isSaved(status) && ifUnsaved == .askToPersist ? .persistFirst : .remove
    }
}
