import Synchronization

/// The sessions that requests on this node are using right now, by id.
///
/// A request for an id that another in-flight request already has gets the same ``Session``
/// (reference-counted), as msm does per Tomcat: concurrent requests see each other's changes and
/// ``Session/update(_:_:)`` is atomic across them. Loading is single-flight: while one request
/// loads an id from the store, the others for that id wait for its result instead of loading a
/// copy of their own — a second copy, registered after the first had been saved and released,
/// would be stale and its write would lose the first one's update. The entry goes away when the
/// last request finishes, so memory holds only sessions in use and the store stays the source of truth.
final class ActiveSessions: Sendable {
    private typealias Waiter = CheckedContinuation<WaitOutcome, any Error>

    private enum Entry {
        case loading([Waiter])
        case active(Session, references: Int)
    }

    /// Keyed by ``SessionID`` (whose hash is its first 64 random bits); each operation looks its
    /// key up once and updates the entry in place through the index.
    private let entries = Mutex<[SessionID: Entry]>([:])

    /// Number of sessions in use.
    var count: Int {
        entries.withLock { $0.values.count { if case .active = $0 { true } else { false } } }
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
        entries.withLock { entries in
            guard let index = entries.index(forKey: id) else {
                entries[id] = .loading([])
                return .mustLoad
            }
            switch entries.values[index] {
            case .active(let session, let references):
                entries.values[index] = .active(session, references: references + 1)
                return .shared(session)
            case .loading:
                return .loading
            }
        }
    }

    /// Publishes the result of a load started after ``Lookup/mustLoad`` to the requests waiting for it.
    func completeLoad(_ id: SessionID, with result: Result<Session?, any Error>) {
        let waiters: [Waiter] = entries.withLock { entries in
            guard let index = entries.index(forKey: id), case .loading(let waiters) = entries.values[index] else { return [] }
            if case .success(let session?) = result {
                entries.values[index] = .active(session, references: 1 + waiters.count)
            } else {
                entries.remove(at: index)
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
            let now: WaitOutcome? = entries.withLock { entries in
                guard let index = entries.index(forKey: id) else { return .lookAgain }
                switch entries.values[index] {
                case .loading(let waiters):
                    entries.values[index] = .loading(waiters + [waiter])
                    return nil
                case .active(let session, let references):
                    entries.values[index] = .active(session, references: references + 1)
                    return .loaded(session)
                }
            }
            if let now { waiter.resume(returning: now) }
        }
    }

    /// Registers a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) {
        entries.withLock { $0[session.id] = .active(session, references: 1) }
    }

    /// Drops one reference to `session`, which was registered under `registeredID`; re-files it under
    /// its current id if that changed, and removes it after the last reference or once invalidated.
    func release(_ session: Session, registeredID: SessionID) {
        let currentID = session.id
        let isValid = session.isValid
        entries.withLock { entries in
            /// Where `session` is filed under `id`, with its reference count.
            func slot(_ id: SessionID) -> (index: Dictionary<SessionID, Entry>.Index, references: Int)? {
                guard let index = entries.index(forKey: id), case .active(let filed, let references) = entries.values[index],
                    filed === session
                else { return nil }
                return (index, references)
            }
            // Under `registeredID`, or already under `currentID` if another request of it re-filed it.
            guard let (index, references) = slot(registeredID) ?? (currentID == registeredID ? nil : slot(currentID)) else { return }
            guard references > 1 && isValid else {
                entries.remove(at: index)
                return
            }
            if entries.keys[index] == currentID {
                entries.values[index] = .active(session, references: references - 1)
            } else {
                entries.remove(at: index)
                entries[currentID] = .active(session, references: references - 1)
            }
        }
    }
}
